# The two set-up commands of the README: `make demo` (the main job) and `make test`;
# `make bench` times the plan search (benchmarks/README.md).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test lint bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $@

# Compile a bundled model and run it on the reference interpreter, printing the summary.
demo: $(VENV)/.installed
	mkdir -p build
	$(BIN)/t10-opt examples/mlp.mlir --pass-pipeline='builtin.module(canonicalize)' -o build/mlp.mlir
	$(BIN)/t10-run build/mlp.mlir --seed 0 --output build/mlp.out.npz

# Every test: pytest (unit tests and, through test/unit/test_lit.py, the lit suite).
test: $(VENV)/.installed
	$(BIN)/pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check .

# Time the per-operator plan search; writes benchmarks/results/plan_search.{md,json}.
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/plan_search.py

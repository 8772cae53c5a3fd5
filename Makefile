# The two set-up commands of the README: `make demo` (the main job) and `make test`;
# `make bench` runs the benchmarks (benchmarks/README.md).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test lint bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $@

# Compile a bundled model for the default IPU target, run it on the simulated chip, check
# every output against the reference interpreter, and print the report.
demo: $(VENV)/.installed
	$(BIN)/t10-run examples/mlp.mlir --target ipu-mk2 --check

# Every test: pytest (unit tests and, through test/unit/test_lit.py, the lit suite).
test: $(VENV)/.installed
	$(BIN)/pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check .

# The benchmarks (benchmarks/README.md): plan search, plan selection and the simulated
# chip's speed; each writes benchmarks/results/NAME.{md,json}. Then the evaluation
# matrix (t10-bench): benchmarks/results/results.{csv,md} and ops.csv.
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/plan_search.py
	$(BIN)/python benchmarks/plan_selection.py
	$(BIN)/python benchmarks/interpreter.py
	$(BIN)/t10-bench --jobs 2

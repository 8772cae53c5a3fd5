# The two set-up commands of the README: `make demo` (the main job) and `make test`;
# `make bench` runs the benchmarks (benchmarks/README.md).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
LOCK := requirements/lock.txt
# The lock is made with this uv, so a refresh is itself reproducible.
UV_VERSION := 0.13.9

.PHONY: demo test lint bench lock test-latest

# Every dependency at the exact version of the lock (the versions CI tested), then T10ir
# itself with no resolution of its own: a fresh machine installs what CI ran.
$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r $(LOCK)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

# Import a real network (examples/bert.onnx: a Hugging Face BertModel exported by
# torch.onnx.export, examples/make_bert_example.py), compile it for the default IPU
# target, run it on the simulated chip, check every output against the reference
# interpreter, print the report, and the same model's cycles under vgm and t10.
demo: $(VENV)/.installed
	@mkdir -p build/demo
	$(BIN)/t10-import examples/bert.onnx -o build/demo/bert.mlir
	$(BIN)/t10-run build/demo/bert.mlir --inputs examples/bert.inputs.npz --target ipu-mk2 --check --compare vgm t10

# Every test: pytest (unit tests and, through test/unit/test_lit.py, the lit suite), on
# every core (pytest-xdist); each test module runs on one worker (`--dist loadscope`), so
# a module's fixtures, such as the real-model suite's exports, are made once.
test: $(VENV)/.installed
	$(BIN)/pytest -q -n auto --dist loadscope

# Refresh the lock to the newest releases that pyproject.toml admits (run `make test-latest`
# first: it tests exactly those releases).
lock:
	$(PYTHON) -m venv .venv-uv
	.venv-uv/bin/pip install -q uv==$(UV_VERSION)
	.venv-uv/bin/uv pip compile pyproject.toml requirements/build.in --extra test --extra cluster \
		--universal --python-version 3.11 --no-header -o $(LOCK)

# Every test against the newest releases pyproject.toml admits, in a venv of its own, with
# no lock: what a refresh of the lock would bring.
test-latest:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/pip install -q --upgrade pip setuptools
	.venv-latest/bin/pip install -q --upgrade --no-cache-dir -e ".[test]"
	.venv-latest/bin/pip freeze --exclude-editable
	.venv-latest/bin/pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

# The benchmarks (benchmarks/README.md): plan search, plan selection and the simulated
# chip's speed; each writes benchmarks/results/NAME.{md,json}. Then the evaluation
# matrix (t10-bench): benchmarks/results/results.{csv,md} and ops.csv.
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/plan_search.py
	$(BIN)/python benchmarks/plan_selection.py
	$(BIN)/python benchmarks/interpreter.py
	$(BIN)/t10-bench --jobs 2

# icaht: the two commands are `make demo` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install system-deps browser-deps bench-deps demo test lint typecheck unit bench schemas docs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: install python3-venv"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: install
	$(BIN)/icaht demo

lint: install
	$(BIN)/ruff check --no-cache src tests benchmarks
	$(BIN)/ruff format --no-cache --check src tests benchmarks

typecheck: install
	$(BIN)/mypy src

unit: install
	$(BIN)/pytest -q

system-deps:
	@scripts/system-deps

browser-deps:
	@scripts/browser-deps

bench-deps:
	@scripts/bench-deps

test: system-deps browser-deps lint typecheck unit

bench: install system-deps bench-deps
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/grading.py
	$(BIN)/python benchmarks/grades_only.py
	$(BIN)/python benchmarks/service.py
	$(BIN)/python benchmarks/dashboard.py
	$(BIN)/python benchmarks/fhir_exchange.py
	$(BIN)/python benchmarks/cohort_scale.py
	$(BIN)/python benchmarks/worklist.py
	$(BIN)/python benchmarks/load_mixed.py

schemas: install
	$(BIN)/icaht schema --out schemas

docs: install
	$(BIN)/icaht rules --format md > docs/rules.md.partial && mv docs/rules.md.partial docs/rules.md

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

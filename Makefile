# Topup: `make run` starts the whole demo, `make test` runs the whole suite (SQLite, then PostgreSQL).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TOPUP_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/topup

.PHONY: run test test-sqlite test-postgres lint bench worker clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/topup serve

test: $(STAMP) lint
	$(BIN)/python tests/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/topup bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

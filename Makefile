# Topup: `make run` starts the whole demo, `make test` runs the whole suite (SQLite, then PostgreSQL).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
export TOPUP_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/topup

.PHONY: run test lint bench messages browser clean cluster-deps test-cluster

# `make run` installs what running needs (pyproject `dependencies`); the development tools (`[dev]`: pytest,
# mypy, ruff, schemathesis...) come with the first `make test` or `make lint`, so a newcomer's first run is short.
# The venv's own pip (23.2 with Python 3.11) installs editable projects already: upgrading it cost time for nothing.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

# Translations: each catalogue is compiled again whenever its .po file changes.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard src/topup/locale/*/LC_MESSAGES/django.po))
%.mo: %.po $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@

messages: $(MO_FILES)

run: $(STAMP) $(MO_FILES)
	$(BIN)/topup serve

# Playwright (npm playwright-core) for the browser journeys; it drives Debian's chromium (see .ci/run).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-fund --no-audit --loglevel=error

browser: $(DEV_STAMP) $(MO_FILES) node_modules/.package-lock.json
	$(BIN)/pytest tests/e2e/test_browser.py -q -s

test: $(DEV_STAMP) $(MO_FILES) node_modules/.package-lock.json lint
	$(BIN)/python tests/run.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

# Fresh PostgreSQL database topup_bench, `topup serve` on it, `topup bench` (BENCH_ARGS), artifacts/bench.json.
bench: $(STAMP) $(MO_FILES)
	BENCH_ARGS='$(BENCH_ARGS)' $(BIN)/python -m topup.bench.make

# Issue #13: the Debian packages of the several-machines cluster (their packaged services never start).
cluster-deps:
	sh deploy/cluster/install-deps.sh

# The failover test on a cluster of network namespaces (root, `make cluster-deps` first).
test-cluster: $(DEV_STAMP) $(MO_FILES) cluster-deps
	TOPUP_CLUSTER_TEST=1 $(BIN)/pytest tests/cluster -m cluster -q -s -p no:cacheprovider

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache

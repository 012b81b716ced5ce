# Topup: `make run` starts the whole demo, `make test` runs the whole suite (SQLite, then PostgreSQL).
# Python 3.11 to 3.13 (pyproject requires-python). By default python3.11, else the newest supported one found (said
# so); `make … PYTHON=python3.13` picks another, in its own venv .venv-3.13. tools/python.sh finds it (pyenv's too),
# refuses other versions naming the range, and refuses a venv made with another Python than the one picked.
PICKED := $(shell sh tools/python.sh '$(if $(filter command line environment,$(origin PYTHON)),$(PYTHON))')
PY := $(word 1,$(PICKED))
PY_VERSION := $(word 2,$(PICKED))
VENV := $(or $(word 3,$(PICKED)),.venv)
ifeq ($(PY),)
ifneq ($(filter-out clean cluster-deps,$(or $(MAKECMDGOALS),default)),)
$(error no usable Python for Topup (see the message above))
endif
endif
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
export TOPUP_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/topup

.PHONY: run test test-python lint bench messages browser clean cluster-deps test-cluster

# `make run` installs what running needs (pyproject `dependencies`); the development tools (`[dev]`: pytest,
# mypy, ruff, schemathesis...) come with the first `make test` or `make lint`, so a newcomer's first run is short.
# The venv's own pip (23.2 with Python 3.11) installs editable projects already: upgrading it cost time for nothing.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
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

# CI's pass on the highest supported Python (.ci/run: `make test-python PYTHON=python3.13`, 3 to 5 minutes with its
# venv): the unit tests and the integration slice below on SQLite, in that Python's own venv; the whole suite runs
# on 3.11. The slice: the order flow and webhooks, the ledger and order state machines (hypothesis), and what leans
# on the interpreter: SMPP both ways (asyncio, smpppdu), USSD/IVR, ES2+ and QR codes, e-mail (aiosmtpd), the
# Stripe SDK, `topup serve` and its restarted children, gunicorn in production. README "Python versions".
PYTHON_SLICE := $(addprefix tests/integration/test_,$(addsuffix .py,order_flow webhooks order_machine ledger \
  smsc sms_channel ussd_ivr esim es2plus_callback receipt_mail stripe_provider serve_start simulator_restart \
  production_http))
test-python: $(DEV_STAMP) $(MO_FILES)
	mkdir -p artifacts/test-data-$(PY_VERSION)
	TOPUP_ENV=test TOPUP_DATA_DIR=$(CURDIR)/artifacts/test-data-$(PY_VERSION) \
	  TOPUP_DATABASE_URL=sqlite:///$(CURDIR)/artifacts/test-data-$(PY_VERSION)/topup.sqlite3 \
	  $(BIN)/python -m pytest -q -p no:cacheprovider tests/unit $(PYTHON_SLICE)

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
	rm -rf .venv .venv-3.* node_modules .pytest_cache .mypy_cache .ruff_cache

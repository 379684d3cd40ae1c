# corral: the two commands an operator needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8778
DATA_DIR ?= $(CURDIR)/data
CONFORMANCE ?= $(CURDIR)/../shared/conformance
STAMP := $(VENV)/.installed
# `make run` is the single-node developer service: token-less on loopback
# (the launcher refuses noauth2 on any other address). Set RUN_AUTH= to use
# the [api] auth_strategy of the config instead.
RUN_AUTH ?= --auth-strategy noauth2

.PHONY: run test lint unit functional e2e faults browser conformance audit bench clean venv

venv: $(STAMP)

# A fresh machine needs nothing but Python and make: the virtualenv is made and
# filled from the hash-locked requirements here.
$(STAMP): requirements/lock.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r requirements/lock.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/corral serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR) $(RUN_AUTH)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit

functional: $(STAMP)
	$(BIN)/pytest tests/functional

# The end-to-end Nova cloud (tests/e2e: Nova 34's own services on corral,
# MariaDB and RabbitMQ) takes minutes, so it has a target of its own.
test: lint $(STAMP)
	$(BIN)/pytest tests --ignore=tests/e2e --ignore=tests/faults --ignore=tests/browser

e2e: $(STAMP)
	$(BIN)/pytest tests/e2e

# The dashboard in real Chromium (Debian's /usr/bin/chromium, installed by the
# suite's fixture when absent) against a served corral and its demo cloud.
browser: $(STAMP)
	$(BIN)/pytest tests/browser

# Real processes killed and dependencies cut off under load, the invariants
# checked after each (tests/faults): minutes, so a target of its own.
faults: $(STAMP)
	$(BIN)/pytest tests/faults

conformance: $(STAMP)
	$(BIN)/python tests/conformance/check.py --runner $(CONFORMANCE)/run

audit: $(STAMP)
	$(BIN)/python tools/audit.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

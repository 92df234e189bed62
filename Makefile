# ISG developer commands. `make` (or `make help`) lists them.
#
#   make run    set everything up, then serve the app on http://127.0.0.1:8000/
#   make test   the checks CI runs (honours DATABASE_URL; SQLite when it is unset)
#
# Variables you can override: PYTHON, HOST, PORT, PYTEST_ARGS, e.g.
#   make test PYTEST_ARGS="-k login -x"
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/isg make run

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

# Python 3.11 (pyproject.toml: requires-python >=3.11,<3.12).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Written after a successful install; redone when pyproject.toml or the lock file is newer.
STAMP := $(VENV)/.installed
# Every dependency pinned with its hashes (pip-tools); `make lock` rewrites it.
LOCK := requirements.lock
MANAGE := $(BIN)/python manage.py

HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

# WeasyPrint's system libraries (Debian/Ubuntu package names). libharfbuzz-subset0
# makes font subsetting, and so PDF generation, 2-3x faster.
# fonts-liberation: the record PDFs are laid out in Liberation Sans (metric-compatible with Arial).
WEASYPRINT_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation
# The browser tests (tests/e2e) drive Debian's Chromium; Playwright's own browser download is
# not used. fonts-liberation renders the app's Arial. ISG_CHROMIUM points at another build.
CHROMIUM_DEBS := chromium fonts-liberation
ISG_CHROMIUM ?= /usr/bin/chromium

export PIP_DISABLE_PIP_VERSION_CHECK := 1

# isg/settings.py is production-safe by default (DEBUG off, SECRET_KEY required), so the
# local targets default to DEBUG=true. A DEBUG (or SECRET_KEY) already in the environment
# wins. pytest ignores this: pytest-env in pyproject.toml sets its own settings.
run test e2e bench: export DEBUG ?= true
# The demo users of `make run` sign in with a password alone; production asks for MFA.
run: export ISG_MFA_REQUIRED ?= false

.PHONY: help venv install lock sysdeps chromium run test e2e bench lint clean distclean

help: ## List the targets
	@echo "ISG make targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Variables: PYTEST_ARGS='...' (test, e2e), HOST/PORT (run), DATABASE_URL (run, test)"

# ---------------------------------------------------------------- setup ----

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "ISG needs Python 3.11; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." >&2; \
	  echo "Run again with PYTHON=/path/to/python3.11" >&2; exit 1; }
	$(PYTHON) -m venv --clear $(VENV)

$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --no-deps -e .
	$(BIN)/python scripts/check_lock.py
	@touch $@

lock: | $(BIN)/python ## Re-pin every dependency with hashes (after changing pyproject.toml)
	$(BIN)/python -m pip install 'pip-tools>=7.4,<8'
	$(BIN)/pip-compile --quiet --generate-hashes --extra dev --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links -o $(LOCK) pyproject.toml
	$(BIN)/python scripts/check_lock.py

venv: $(STAMP) ## Create .venv and install ISG + dev tools (only when pyproject.toml changed)

install: $(STAMP) ## Same as venv

sysdeps: ## Check WeasyPrint's system libraries; install them (apt-get) if missing
	@missing=""; \
	if command -v dpkg-query >/dev/null 2>&1; then \
	  for pkg in $(WEASYPRINT_DEBS); do \
	    dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null | grep -q 'install ok installed' \
	      || missing="$$missing $$pkg"; \
	  done; \
	else \
	  ldconfig=$$(command -v ldconfig || echo /sbin/ldconfig); \
	  for lib in libpango-1.0.so.0 libpangoft2-1.0.so.0 libharfbuzz-subset.so.0; do \
	    "$$ldconfig" -p 2>/dev/null | grep -q "$$lib" || missing="$$missing $$lib"; \
	  done; \
	  if [ -n "$$missing" ]; then \
	    echo "sysdeps: WARNING: not a Debian system and ldconfig does not list:$$missing" >&2; \
	    echo "sysdeps: WeasyPrint needs Pango (>= 1.44) and HarfBuzz: install them with your" >&2; \
	    echo "sysdeps: package manager (WeasyPrint docs: 'First steps', 'Installation')." >&2; \
	  else echo "sysdeps: WeasyPrint libraries present"; fi; \
	  exit 0; \
	fi; \
	if [ -z "$$missing" ]; then echo "sysdeps: WeasyPrint libraries present"; exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else \
	  echo "sysdeps: WeasyPrint needs these Debian packages:$$missing" >&2; \
	  echo "sysdeps: run this, then try again:" >&2; \
	  echo "    sudo apt-get install -y$$missing" >&2; \
	  exit 1; \
	fi; \
	echo "sysdeps: installing$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$sudo apt-get install -y --no-install-recommends $$missing \
	  || { $$sudo apt-get update && $$sudo apt-get install -y --no-install-recommends $$missing; }

chromium: ## Check Debian's Chromium for the browser tests; install it (apt-get) if missing
	@if [ -x "$(ISG_CHROMIUM)" ]; then echo "chromium: $(ISG_CHROMIUM) present"; exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "chromium: the browser tests need Chromium at $(ISG_CHROMIUM) (or set ISG_CHROMIUM)." >&2; \
	  exit 1; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else \
	  echo "chromium: the browser tests need Debian's Chromium. Run this, then try again:" >&2; \
	  echo "    sudo apt-get install -y $(CHROMIUM_DEBS)" >&2; \
	  exit 1; \
	fi; \
	echo "chromium: installing $(CHROMIUM_DEBS)"; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$sudo apt-get install -y $(CHROMIUM_DEBS) \
	  || { $$sudo apt-get update && $$sudo apt-get install -y $(CHROMIUM_DEBS); }

# ------------------------------------------------------------------ run ----

# `run` serves with Django's development server. Demo users are for local use only.
run: sysdeps install ## Migrate, load guidance, seed demo users, serve on HOST:PORT
	$(MANAGE) migrate --noinput
	@# accounts: the shared throttling cache's table (a no-op while the cache is LocMem)
	$(MANAGE) createcachetable
	@# PostgreSQL: the audit table's partitions for this month and the next three (a no-op on SQLite)
	$(MANAGE) audit_partitions
	$(MANAGE) load_guidance
	$(MANAGE) seed_demo
	@# The background worker (long report exports, django-tasks' database backend) runs
	@# beside the server and stops with it. --no-reload: one process, so the trap stops it
	@# all; restart `make run` after changing task code (decisions/exports.py).
	$(MANAGE) db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(MANAGE) runserver $(HOST):$(PORT)

# ----------------------------------------------------------------- test ----

test: sysdeps chromium install ## makemigrations --check, ruff check, import layers, pytest (PYTEST_ARGS=...)
	$(MANAGE) makemigrations --check --dry-run
	@# accounts: the shared cache's table, if one is configured (pytest's database gets its own)
	$(MANAGE) createcachetable
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

e2e: sysdeps chromium install ## Browser tests only: pytest -m e2e (PYTEST_ARGS=...)
	$(BIN)/pytest -m e2e $(PYTEST_ARGS)

# The benchmarks run on PostgreSQL (127.0.0.1:5432, a throwaway database each); BENCH_DB=sqlite
# runs them on SQLite instead.
bench: export BENCH_DB ?= postgres
bench: sysdeps install ## Benchmarks on PostgreSQL: exports, wizard, gunicorn (bench/run.py)
	$(BIN)/python bench/run.py

# Audit chains (issue 13): 32 writers over 8 organisations and in one, verify_audit over 1M
# events; a fresh PostgreSQL database on 127.0.0.1 (BENCH_PG), about 3 minutes.
.PHONY: bench-audit
bench-audit: sysdeps install ## Audit chain benchmark: bench/audit_writers.py (PostgreSQL)
	$(BIN)/python bench/audit_writers.py

lint: install ## ruff check + ruff format --check + import layers
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# ---------------------------------------------------------------- clean ----

clean: ## Remove caches and build output (keeps .venv and db.sqlite3)
	rm -rf .pytest_cache .ruff_cache .mypy_cache staticfiles test-output build *.egg-info
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -print0 | xargs -0 rm -rf

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)

# ---- scale out: the load test (docs/scaling.md) ------------------------------------------
# A throwaway PostgreSQL primary + streaming standby (tests/pgcluster.py), two gunicorn nodes,
# locust headless over loopback; bounded by LOADTEST_SECONDS (90) and LOADTEST_MAX_REQUESTS.
.PHONY: scale
scale: bench-audit loadtest ## Issue 13's figures: the 32-writer audit benchmark, then the load test

.PHONY: loadtest
loadtest: sysdeps install ## Load test: 2 web nodes, primary + standby, locust; figures + chart
	$(BIN)/python loadtest/run.py

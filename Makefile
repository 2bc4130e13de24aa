# One entry point for everything a person runs. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_YES := 1
export PIPENV_NOSPIN := 1
export PIPENV_VERBOSITY := -1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
# `make demo` writes its own warehouse and dlt state, never yours; DEMO=1 points any target at them
# (`make dashboard DEMO=1`, `make status DEMO=1`)
export DEMO_WAREHOUSE_PATH ?= $(CURDIR)/data/demo.duckdb
export DEMO_PIPELINES_DIR ?= $(CURDIR)/data/demo.dlt
ifneq ($(filter-out 0 false no off,$(DEMO)),)
export WAREHOUSE_PATH := $(DEMO_WAREHOUSE_PATH)
export PIPELINES_DIR := $(DEMO_PIPELINES_DIR)
endif
export WAREHOUSE_PATH ?= $(CURDIR)/data/warehouse.duckdb
# FULL_REFRESH is a make variable only (`make notion FULL_REFRESH=1` passes --full-refresh). Never in the
# pipeline's environment: dlt reads FULL_REFRESH as its own dev mode and loads into `raw_<timestamp>`.
unexport FULL_REFRESH
FULL_REFRESH_FLAG = $(if $(filter-out 0 false no off,$(FULL_REFRESH)),--full-refresh,)

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

.PHONY: help install install-system demo test check lint sandbox sandbox-export setup clean-warehouse notion hubspot fitbit fitbit-export bench bench-fitbit bench-dashboard bench-scale bigquery-migrate dbt-build dbt-docs dbt-docs-serve dashboard postgres status clean

# variables the target descriptions mention: `make help` prints their values, not their names
HELP_VARS = SANDBOX_PORT DASHBOARD_PORT PYTEST_WORKERS WAREHOUSE_PATH DEMO_WAREHOUSE_PATH
help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | env $(foreach v,$(HELP_VARS),$(v)='$($(v))') awk 'BEGIN {FS = ":.*?## "}; \
		{ d = $$2; while (match(d, /\$$\([A-Za-z_]+\)/)) { v = substr(d, RSTART + 2, RLENGTH - 3); \
		  d = substr(d, 1, RSTART - 1) (v in ENVIRON ? ENVIRON[v] : "<" v ">") substr(d, RSTART + RLENGTH) }; \
		  printf "  \033[36m%-16s\033[0m %s\n", $$1, d }'

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

SYSTEM_PACKAGES ?= postgres chromium node
install-system: ## install the OS packages the test suite needs when missing (SYSTEM_PACKAGES="postgres chromium node"; make postgres installs only postgres)
	@./scripts/install_system_packages.sh $(SYSTEM_PACKAGES)

demo: install ## load a synthetic year from the local sandbox APIs into the demo's own warehouse ($(DEMO_WAREHOUSE_PATH)), build the marts, print a summary
	$(PY) -m scripts.demo

# two workers (this machine has 2 cores); a file's tests stay on one worker so module fixtures are built once
PYTEST_WORKERS ?= 2
test: install-system install lint ## run the whole suite (lint, sandbox, pipelines, dbt, destinations, dashboard) on PYTEST_WORKERS workers
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15 --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

lint: install ## ruff on Python, sqlfluff (duckdb + bigquery) on the dbt models, actionlint on the workflows
	$(VENV)/bin/ruff check pipelines sandbox scripts tests dashboard
	./scripts/lint_sql.sh
	./scripts/lint_workflows.sh

check: install ## the inner loop (under a minute): ruff, sqlfluff on the models changed in the tree, the tests not marked slow
	$(VENV)/bin/ruff check pipelines sandbox scripts tests dashboard
	@changed="$$(git ls-files -m -o --exclude-standard -- 'dbt/models/*.sql' 'dbt/models/**/*.sql' | sort -u | xargs -r ls -d 2>/dev/null)"; \
	if [ -n "$$changed" ]; then SQL_PATHS="$$changed" ./scripts/lint_sql.sh; else echo "sqlfluff: no changed models"; fi
	$(PY) -m pytest -n $(PYTEST_WORKERS) -m "not slow" -q $(PYTEST_ARGS)

status: install ## which sources are loaded, pipeline health and the latest runs, from the configured destination (PIPELINE_DESTINATION; DEMO=1: the demo's)
	$(PY) -m scripts.status

sandbox: install ## serve the sandbox APIs on 127.0.0.1:$(SANDBOX_PORT) until Ctrl-C (base URLs, ids and tokens: /_sandbox/config)
	$(PY) -m sandbox --port $(SANDBOX_PORT)

sandbox-export: install ## write the sandbox person's Fitbit data as a Google Takeout export into data/sandbox-export/ and print its path
	$(PY) -m scripts.sandbox_export $(SANDBOX_EXPORT_ARGS)

setup: install ## write .dlt/secrets.toml with your tokens and ids (prompts, or flags/env), check each source with one request, say what is next
	$(PY) -m scripts.setup $(SETUP_ARGS)

notion: install ## run the Notion pipeline (needs .dlt/secrets.toml or SOURCES__NOTION__* env; FULL_REFRESH=1 to rebuild)
	$(PY) -m pipelines.notion $(FULL_REFRESH_FLAG)

hubspot: install ## run the HubSpot pipeline (needs .dlt/secrets.toml or SOURCES__HUBSPOT__* env; FULL_REFRESH=1 to rebuild)
	$(PY) -m pipelines.hubspot $(FULL_REFRESH_FLAG)

fitbit-export: install ## import a Fitbit data export (EXPORT=<Takeout zip or folder>, default sources.fitbit_export.path; FULL_REFRESH=1 to rebuild)
	$(PY) -m pipelines.fitbit_export $(if $(EXPORT),--path "$(EXPORT)",) $(FULL_REFRESH_FLAG)

fitbit: install ## run the Fitbit Web API pipeline (token store data/fitbit_tokens.json; FULL_REFRESH=1 to rebuild)
	$(PY) -m pipelines.fitbit $(FULL_REFRESH_FLAG)

bench: bench-fitbit bench-dashboard ## every benchmark below, each printing its ratios from one run

bench-fitbit: install ## import a synthetic year of per-second Fitbit heart rate: our import vs DuckDB read_json vs dict rows
	$(PY) -m scripts.bench_fitbit_export

bench-dashboard: install ## build five synthetic years and time every dashboard page, cold and warm cache
	$(PY) -m scripts.bench_dashboard

bench-scale: install ## import 1 year of per-second heart rate (BENCH_YEARS="1 5 10" for more) vs DuckDB, then one new day incrementally
	$(PY) -m scripts.bench_scale $(if $(BENCH_YEARS),--years $(BENCH_YEARS),)

bigquery-migrate: install ## rebuild raw BigQuery tables created before their partitioning/clustering (PIPELINE_DESTINATION=bigquery)
	$(PY) -m scripts.bigquery_layout --migrate

dbt-build: install ## dbt build (models + tests) of what the loaded sources feed, on DBT_TARGET (default dev = DuckDB); names absent sources
	$(PY) -m scripts.dbt_build $(DBT_BUILD_ARGS)

dbt-docs: install ## generate dbt docs into dbt/target
	$(DBT) docs generate $(DBT_ARGS)

dbt-docs-serve: dbt-docs ## serve dbt docs on 127.0.0.1:8081
	$(DBT) docs serve $(DBT_ARGS) --host 127.0.0.1 --port 8081

postgres: install ## start a throwaway PostgreSQL on 127.0.0.1 (installs only the server if missing; prints the env lines to paste into another terminal; Ctrl-C stops and deletes it)
	@./scripts/install_system_packages.sh postgres
	$(PY) -m scripts.postgres_server

DASHBOARD_PORT ?= 8501
dashboard: install ## serve the Streamlit dashboard over the marts on 127.0.0.1:$(DASHBOARD_PORT) (DASHBOARD_PORT=<port> to change; DEMO=1: the demo's warehouse)
	@$(PY) -c 'import socket, sys; s = socket.socket(); s.bind(("127.0.0.1", $(DASHBOARD_PORT)))' 2>/dev/null || \
		{ echo "port $(DASHBOARD_PORT) is already in use (another dashboard?): stop it, or pick another port: make dashboard DASHBOARD_PORT=$$(( $(DASHBOARD_PORT) + 1 ))"; exit 1; }
	@echo "dashboard on http://127.0.0.1:$(DASHBOARD_PORT) over $(if $(filter-out duckdb,$(PIPELINE_DESTINATION)),$(PIPELINE_DESTINATION),$(WAREHOUSE_PATH)) (Ctrl-C stops it)"
	$(PY) -m streamlit run dashboard/app.py --server.address 127.0.0.1 --server.port $(DASHBOARD_PORT) --server.headless true --browser.gatherUsageStats false

clean: ## delete data/ (your warehouse and the demo's), dlt state and dbt artifacts, saying what; keeps the Fitbit token store unless CLEAN_TOKENS=1
	@shopt -s nullglob dotglob; doomed=(); keep_tokens="$(if $(filter-out 0 false no off,$(CLEAN_TOKENS)),,1)"; \
	for f in data/*; do case "$$f" in data/fitbit_tokens.json*) [ -n "$$keep_tokens" ] && continue;; esac; doomed+=("$$f"); done; \
	for f in .dlt/pipelines dbt/target dbt/logs logs artifacts .pytest_cache .coverage; do [ -e "$$f" ] && doomed+=("$$f"); done; \
	if [ $${#doomed[@]} -eq 0 ]; then echo "nothing to delete"; else printf 'deleting %s\n' "$${doomed[@]}"; rm -rf -- "$${doomed[@]}"; fi; \
	if [ -e data/fitbit_tokens.json ]; then echo "kept data/fitbit_tokens.json (your Fitbit token store: a new one needs a new authorisation; CLEAN_TOKENS=1 deletes it)"; fi

clean-warehouse: install ## delete only the warehouse at WAREHOUSE_PATH and its dlt state, so the next run starts a clean one (DuckDB)
	$(PY) -m pipelines.common.warehouse_guard clean

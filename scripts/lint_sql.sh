#!/usr/bin/env bash
# Lints the dbt models with sqlfluff twice: DuckDB (local target) and BigQuery (prod target). Config: .sqlfluff.
set -euo pipefail
cd "$(dirname "$0")/.."
SQLFLUFF=${SQLFLUFF:-.venv/bin/sqlfluff}
# SQLFLUFF_DBT_ADAPTER picks which `<adapter>__` macro the lint-only adapter.dispatch renders
SQLFLUFF_DBT_ADAPTER=duckdb "$SQLFLUFF" lint dbt/models --dialect duckdb "$@"
SQLFLUFF_DBT_ADAPTER=bigquery "$SQLFLUFF" lint dbt/models --dialect bigquery "$@"

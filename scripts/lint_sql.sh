#!/usr/bin/env bash
# Lints the dbt models with sqlfluff twice: DuckDB (local target) and BigQuery (prod target). Config: .sqlfluff.
# SQL_PATHS (space-separated) limits the lint to those files; `make check` passes the models changed in the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
SQLFLUFF=${SQLFLUFF:-.venv/bin/sqlfluff}
read -r -a paths <<< "${SQL_PATHS:-dbt/models}"
# SQLFLUFF_DBT_ADAPTER picks which `<adapter>__` macro the lint-only adapter.dispatch renders
SQLFLUFF_DBT_ADAPTER=duckdb "$SQLFLUFF" lint "${paths[@]}" --dialect duckdb --processes 0 "$@"
SQLFLUFF_DBT_ADAPTER=bigquery "$SQLFLUFF" lint "${paths[@]}" --dialect bigquery --processes 0 "$@"

"""Read-only access to the marts on the configured destination, without ever holding DuckDB's file lock."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd

from pipelines.common.settings import destination_name, warehouse_path


class WarehouseBusy(RuntimeError):
    """The DuckDB file is locked by a running pipeline or dbt build."""


class WarehouseMissing(RuntimeError):
    """No warehouse yet (run `make demo` or a pipeline first)."""


def _duckdb_path() -> Path:
    return Path(os.environ.get("DASHBOARD_WAREHOUSE_PATH", warehouse_path()))


def warehouse_key() -> str:
    """Identifies the warehouse being read (cache key): destination plus file or schema."""
    return f"{destination_name()}:{_duckdb_path() if destination_name() == 'duckdb' else marts_schema()}"


def marts_schema() -> str:
    return os.environ.get("MARTS_SCHEMA", "marts")


def _duckdb_query(sql: str, params: list | None, attempts: int = 5) -> pd.DataFrame:
    import duckdb

    path = _duckdb_path()
    if not path.exists():
        raise WarehouseMissing(f"no warehouse at {path}: run `make demo` first")
    for attempt in range(attempts):
        try:
            # open per query and close at once: a pipeline run must never find the file locked by us
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            time.sleep(0.2 * 2**attempt)
            continue
        try:
            return con.execute(sql, params or []).df()
        finally:
            con.close()
    raise WarehouseBusy("the warehouse is busy (a pipeline or dbt run is writing); retrying shortly")


def _postgres_query(sql: str, params: list | None) -> pd.DataFrame:
    import psycopg2

    con = psycopg2.connect(host=os.environ.get("POSTGRES_HOST", "127.0.0.1"),
                           port=int(os.environ.get("POSTGRES_PORT", "5432")),
                           user=os.environ.get("POSTGRES_USER", "postgres"),
                           password=os.environ.get("POSTGRES_PASSWORD", ""),
                           dbname=os.environ.get("POSTGRES_DB", "personal_data"), connect_timeout=10)
    try:
        with con.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params or None)
            cols = [c.name for c in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=cols)
    finally:
        con.close()


def _bigquery_query(sql: str, params: list | None) -> pd.DataFrame:
    from google.cloud import bigquery

    if params:
        raise ValueError("positional parameters are not used with BigQuery here")
    client = bigquery.Client(project=os.environ.get("GCP_PROJECT"))
    return client.query(sql, timeout=60).result(timeout=120).to_dataframe(create_bqstorage_client=False)


def query(sql: str, params: list | None = None) -> pd.DataFrame:
    """Run SQL on the destination chosen by PIPELINE_DESTINATION (DuckDB by default)."""
    dest = destination_name()
    if dest == "duckdb":
        return _duckdb_query(sql, params)
    if dest == "postgres":
        return _postgres_query(sql, params)
    return _bigquery_query(sql, params)


def table(name: str) -> str:
    """Fully qualified mart table name."""
    schema = marts_schema()
    if destination_name() == "bigquery":
        return f"`{os.environ.get('GCP_PROJECT', '')}.{schema}.{name}`"
    return f'"{schema}"."{name}"'


def existing_tables(schema: str) -> set[str]:
    if destination_name() == "bigquery":
        df = query(f"select table_name from `{os.environ.get('GCP_PROJECT', '')}.{schema}`.INFORMATION_SCHEMA.TABLES")
        return set(df["table_name"])
    df = query("select table_name from information_schema.tables where table_schema = ?", [schema])
    return set(df["table_name"])

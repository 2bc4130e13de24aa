"""Where pipelines load: destination, raw dataset, DuckDB file and dlt's local working directory."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import dlt

REPO_ROOT = Path(__file__).resolve().parents[2]
DESTINATIONS = ("duckdb", "bigquery", "postgres")
# Native google-auth credentials for the bigquery destination, for code that already holds some (the
# tests' BigQuery emulator sets a static token here). None: dlt resolves them from config, env or Secret Manager.
BIGQUERY_CREDENTIALS = None


def destination_name() -> str:
    """`PIPELINE_DESTINATION` picks the destination: duckdb (default), bigquery or postgres."""
    name = os.environ.get("PIPELINE_DESTINATION", "duckdb").strip().lower()
    if name not in DESTINATIONS:
        raise ValueError(f"PIPELINE_DESTINATION={name!r} is not one of {', '.join(DESTINATIONS)}")
    return name


def warehouse_path() -> Path:
    """The local DuckDB warehouse (`WAREHOUSE_PATH`, default data/warehouse.duckdb)."""
    return Path(os.environ.get("WAREHOUSE_PATH", REPO_ROOT / "data" / "warehouse.duckdb")).resolve()


def raw_dataset() -> str:
    return os.environ.get("RAW_DATASET", "raw")


def pipelines_dir() -> Path:
    """dlt's local state/trace folder, one per warehouse so two warehouses never share a cursor."""
    if os.environ.get("PIPELINES_DIR"):
        return Path(os.environ["PIPELINES_DIR"]).resolve()
    dest = destination_name()
    if dest == "duckdb":
        key = hashlib.sha1(str(warehouse_path()).encode()).hexdigest()[:10]
        return REPO_ROOT / ".dlt" / "pipelines" / f"duckdb-{key}"
    return REPO_ROOT / ".dlt" / "pipelines" / dest


def destination():
    dest = destination_name()
    if dest == "duckdb":
        warehouse_path().parent.mkdir(parents=True, exist_ok=True)
        return dlt.destinations.duckdb(credentials=str(warehouse_path()))
    if dest == "bigquery" and BIGQUERY_CREDENTIALS is not None:
        return dlt.destinations.bigquery(credentials=BIGQUERY_CREDENTIALS)
    return dest  # bigquery/postgres credentials come from dlt config, env or Secret Manager


def make_pipeline(source_name: str) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=source_name,
        destination=destination(),
        dataset_name=raw_dataset(),
        pipelines_dir=str(pipelines_dir()),
        progress="log" if os.environ.get("PIPELINE_PROGRESS") else None,
    )

"""Issue 13.3 and 13.5: `make status` reads the configured destination and says which warehouse it read; a source
that has not been loaded is named with the command that loads it, never a bare "Catalog Error"."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.common.runner import run_source
from pipelines.common.warehouse_guard import missing_source_message
from pipelines.notion import notion_source
from sandbox.app import SandboxConfig
from sandbox.life import LifeConfig
from sandbox.server import SandboxServer

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
SMALL_LIFE = LifeConfig(seed=5, start=date(2025, 2, 1), days=21)


def status(**env) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "scripts.status"], cwd=REPO, env=full, capture_output=True,
                          text=True, timeout=180)


@pytest.fixture
def notion_loaded(warehouse, monkeypatch):
    """Notion from a small sandbox, loaded into the temp DuckDB warehouse (the `warehouse` fixture)."""
    with SandboxServer(SandboxConfig(life=SMALL_LIFE)) as server:
        for name, value in server.pipeline_env().items():
            if name.startswith("SOURCES__NOTION__"):
                monkeypatch.setenv(name, value)
        run_source("notion", notion_source)
        yield server


def test_status_reads_postgres_when_that_is_the_destination(postgres_env, notion_loaded, warehouse, monkeypatch,
                                                            tmp_path):
    # the fixture loaded the DuckDB file: load again, into Postgres this time, with its own dlt state
    monkeypatch.setenv("PIPELINE_DESTINATION", "postgres")
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "dlt-postgres"))
    run_source("notion", notion_source)
    duckdb_runs = warehouse.count("ops.pipeline_runs")
    result = status()
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    first = out.splitlines()[0]
    assert first.startswith("warehouse: Postgres ") and f":{postgres_env.port}/" in first
    assert "PIPELINE_DESTINATION=postgres" in first
    assert re.search(r"notion +loaded: \d+ tables", out) and re.search(r"hubspot +not loaded yet: run `make hubspot`", out)
    assert "latest runs (ops.pipeline_runs)" in out and " notion " in out and "success" in out
    assert "marts.pipeline_health is not built yet: run `make dbt-build`" in out
    assert str(warehouse.path) not in out and warehouse.count("ops.pipeline_runs") == duckdb_runs


def test_dbt_target_alone_picks_the_destination_and_says_so(tmp_path):
    from scripts.status import status_destination

    env = {"DBT_TARGET": "postgres"}
    old = {k: os.environ.pop(k, None) for k in ("PIPELINE_DESTINATION", "DBT_TARGET")}
    try:
        os.environ.update(env)
        assert status_destination() == ("postgres", "DBT_TARGET=postgres")
        os.environ["PIPELINE_DESTINATION"] = "duckdb"
        assert status_destination() == ("duckdb", "PIPELINE_DESTINATION=duckdb")
    finally:
        for k, v in old.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v


def test_duckdb_status_names_each_source_not_loaded_and_its_command(warehouse, notion_loaded):
    result = status()
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.splitlines()[0] == f"warehouse: DuckDB file {warehouse.path} (PIPELINE_DESTINATION=duckdb)"
    assert re.search(r"\n  notion +loaded: \d+ tables\n", out), out
    assert re.search(r"\n  hubspot +not loaded yet: run `make hubspot`", out)
    assert re.search(r"\n  fitbit_export +not loaded yet: run `make fitbit-export EXPORT=<your Takeout zip or folder>`", out)
    assert re.search(r"\n  fitbit +not loaded yet: run `make fitbit`", out)
    assert "Catalog Error" not in out + result.stderr


def test_a_missing_source_table_is_named_with_its_load_command(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        con.execute("create schema raw")
        with pytest.raises(duckdb.CatalogException) as caught:
            con.execute("select * from raw.hubspot__contacts")
    finally:
        con.close()
    assert "Catalog Error" in str(caught.value)
    message = missing_source_message(caught.value)
    assert message == ("hubspot has not been loaded into this warehouse (no table hubspot__contacts): load it with "
                       "`make hubspot`, then `make dbt-build`")
    # Postgres says it another way; staging views name the source too
    assert "`make notion`" in missing_source_message('relation "staging.stg_notion__habit_pages" does not exist')
    assert "make fitbit-export" in missing_source_message("Table with name fitbit_export__sleep does not exist!")
    assert "`make fitbit`" in missing_source_message("Table with name fitbit__sleep_sessions does not exist!")
    assert "`make fitbit`" in missing_source_message('relation "stg_google_health__sleep_sessions" does not exist')
    assert missing_source_message("Table with name dim_date does not exist!") is None  # not a source table
    assert missing_source_message("some other error") is None


def test_a_mart_over_a_dropped_source_table_says_which_source(warehouse, notion_loaded):
    con = duckdb.connect(str(warehouse.path))
    try:  # a view over a source table that a full refresh (or a clean) removed
        con.execute("create schema marts")
        con.execute("create view marts.pipeline_health as select page_id as source_name from raw.notion__habit_pages")
        con.execute("drop table raw.notion__habit_pages cascade")
    finally:
        con.close()
    result = status()
    assert result.returncode == 1
    assert "notion has not been loaded into this warehouse" in result.stderr and "`make notion`" in result.stderr
    assert "Catalog Error" not in result.stderr

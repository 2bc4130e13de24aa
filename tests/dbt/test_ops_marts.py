"""The ops marts on real loads: rejected_records over whichever raw.<source>__rejected tables exist (none, some),
never carrying the payload; pipeline_health and fct_pipeline_runs with crashed and running runs from the real
ledger; the raw tables' unique-key tests, which catch a duplicated merge key. DuckDB and PostgreSQL."""

from __future__ import annotations

import json
import shutil

import duckdb
import psycopg2
import pytest

from sandbox.app import SandboxConfig
from sandbox.server import SandboxServer
from tests.conftest import Warehouse, run_dbt
from tests.fixtures.ops_warehouse import OPS_LIFE, OPS_MODELS, SOURCE_TESTS, Planted, load_with_rejections, source_env

MART_COLUMNS = ["rejected_id", "source_name", "entity", "record_key", "load_id", "reason", "origin", "loaded_at"]
def mart_rows(query) -> set[tuple]:
    return set(query("select source_name, entity, record_key, origin from marts.rejected_records"))


@pytest.fixture
def ops_duckdb(ops_warehouse_built):
    """The session's ops warehouse (tests/fixtures/ops_warehouse.py), with a reader."""
    return {**ops_warehouse_built, "wh": Warehouse(ops_warehouse_built["path"])}


def test_rejected_records_build_empty_when_no_source_rejected_anything(ops_duckdb):
    assert ops_duckdb["empty"] == {"rows": 0, "columns": MART_COLUMNS}


def test_rejected_records_list_every_source_rejection_without_the_payload(ops_duckdb):
    wh, planted = ops_duckdb["wh"], ops_duckdb["planted"]
    # fitbit and fitbit_export never rejected anything here: their tables do not exist, the mart still builds
    assert wh.query("select table_name from information_schema.tables where table_schema = 'raw' "
                    "and table_name like '%rejected' order by 1") == [("hubspot__rejected",), ("notion__rejected",)]
    assert mart_rows(wh.query) == planted.rejected
    assert "payload" not in [c for (c,) in wh.query("select column_name from information_schema.columns "
                                                    "where table_name = 'rejected_records'")]
    # the payload is in raw (where the owner looks the record up) and nowhere in the mart's values
    raw = " ".join(p for (p,) in wh.query("select payload from raw.hubspot__rejected union all "
                                          "select payload from raw.notion__rejected"))
    notion_page = json.loads(wh.scalar("select payload from raw.notion__rejected"))
    mart = " ".join(str(v) for row in wh.query("select * from marts.rejected_records") for v in row)
    for marker in [*planted.payload_markers, notion_page["url"]]:
        assert marker in raw and marker not in mart, marker
    reasons = dict(wh.query("select entity, reason from marts.rejected_records"))
    assert reasons["contacts"] == "updatedAt='31/02/2025 25:61' is not a timestamp"
    assert reasons["engagements"] == "the record has no id"
    assert "last_edited_time" in reasons["habit_pages"]


def test_rejected_records_carry_the_load_that_wrote_them(ops_duckdb):
    wh = ops_duckdb["wh"]
    rows = wh.query("select r.load_id, r.loaded_at, l.inserted_at from marts.rejected_records r "
                    "join raw._dlt_loads l on l.load_id = r.load_id")
    assert len(rows) == wh.count("marts.rejected_records") == 3
    for _, loaded_at, inserted_at in rows:
        # the load id is the package's creation time; dlt records the load as done a moment later
        assert 0 <= (inserted_at - loaded_at).total_seconds() < 120


def test_pipeline_health_shows_the_running_run_and_counts_the_crash_as_a_failure(ops_duckdb):
    wh, planted = ops_duckdb["wh"], ops_duckdb["planted"]
    statuses = dict(wh.query("select run_id, status from marts.fct_pipeline_runs where source_name = 'hubspot'"))
    assert statuses == {planted.success_run_ids["hubspot"]: "success", planted.crashed_run_id: "crashed",
                        planted.running_run_id: "running"}
    health = {r[0]: r[1:] for r in wh.query(
        "select source_name, last_run_status, last_run_id, last_success_run_id, failed_runs_since_success, "
        "last_run_finished_at is null from marts.pipeline_health")}
    assert health == {
        "hubspot": ("running", planted.running_run_id, planted.success_run_ids["hubspot"], 1, True),
        "notion": ("success", planted.success_run_ids["notion"], planted.success_run_ids["notion"], 0, False)}


def test_raw_unique_key_tests_catch_a_duplicated_merge_key(ops_duckdb, tmp_path):
    """The build above ran every raw key test and passed; on a copy holding a second Notion data source row (what
    a kill during the Notion load used to leave, issue 14) and a second rejected row, exactly those two of the
    same compiled tests find rows (dbt fails a test that returns any)."""
    tests = ops_duckdb["source_tests"]
    assert {"source_unique_notion_notion__data_sources_data_source_id",
            "source_unique_key_hubspot_hubspot__rejected_rejected_id__True",
            "source_unique_key_notion_notion__habit_pages__properties_page_id__property_id",
            "source_unique_key_hubspot_hubspot__engagements__associations_engagement_id__to_object_type__to_object_id__True",
            "source_unique_key_ops_pipeline_runs_run_id__True"} <= set(tests), sorted(tests)
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(ops_duckdb["path"], copy)
    con = duckdb.connect(str(copy))
    try:
        assert [name for name, sql in sorted(tests.items()) if con.execute(sql).fetchall()] == []
        con.execute("insert into raw.notion__data_sources select * from raw.notion__data_sources limit 1")
        con.execute("insert into raw.hubspot__rejected select * from raw.hubspot__rejected limit 1")
        failing = [name for name, sql in sorted(tests.items()) if con.execute(sql).fetchall()]
    finally:
        con.close()
    assert failing == ["source_unique_key_hubspot_hubspot__rejected_rejected_id__True",
                       "source_unique_notion_notion__data_sources_data_source_id"]


@pytest.mark.slow
def test_the_ops_marts_build_on_postgres(postgres_env, monkeypatch, tmp_path, ops_duckdb):
    """HubSpot alone (a user with one source) into a real PostgreSQL: the same rejected records as on DuckDB, and
    the running/crashed ledger rows ordered right (Postgres sorts nulls first when descending)."""
    monkeypatch.setenv("PIPELINE_DESTINATION", "postgres")
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "dlt_postgres"))
    with SandboxServer(SandboxConfig(life=OPS_LIFE)) as server:
        source_env(monkeypatch, server, ("hubspot",))
        planted: Planted = load_with_rejections(server, ("hubspot",))
    hubspot_tests = [t for t in SOURCE_TESTS if t != "source:notion"]  # Notion never loaded here
    run_dbt("build", "--select", *OPS_MODELS, *hubspot_tests, "--target-path", str(tmp_path / "dbt"),
            "--log-path", str(tmp_path / "dbt" / "logs"), target="postgres")

    con = psycopg2.connect(host=postgres_env.host, port=postgres_env.port, user=postgres_env.user,
                           dbname=postgres_env.dbname)
    try:
        def query(sql: str) -> list[tuple]:
            with con.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()

        assert mart_rows(query) == planted.rejected
        hubspot_on_duckdb = {r for r in mart_rows(ops_duckdb["wh"].query) if r[0] == "hubspot"}
        assert mart_rows(query) == hubspot_on_duckdb
        columns = [c for (c,) in query("select column_name from information_schema.columns where table_schema = "
                                       "'marts' and table_name = 'rejected_records' order by ordinal_position")]
        assert columns == MART_COLUMNS
        assert query("select last_run_status, last_run_id, last_success_run_id, failed_runs_since_success "
                     "from marts.pipeline_health") == [
            ("running", planted.running_run_id, planted.success_run_ids["hubspot"], 1)]
    finally:
        con.close()

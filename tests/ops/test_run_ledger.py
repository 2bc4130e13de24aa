"""The run ledger: every Notion run against the sandbox leaves one row in ops.pipeline_runs, failures too."""

from __future__ import annotations

import json

import pytest

from pipelines.common.errors import SourceError
from pipelines.common.runner import run_source
from pipelines.notion import notion_source
from tests.conftest import run_dbt

LEDGER = "ops.pipeline_runs"


def ledger_rows(warehouse) -> list[dict]:
    cols = ["run_id", "source", "mode", "mode_reason", "status", "rows_per_table", "total_rows",
            "api_requests", "api_retries", "load_ids", "failed_step", "error_summary", "started_at", "finished_at"]
    rows = warehouse.query(f"select {', '.join(cols)} from {LEDGER} order by started_at")
    return [dict(zip(cols, r, strict=True)) for r in rows]


def test_successful_runs_record_rows_and_requests_from_the_trace(notion_env, warehouse):
    traffic = notion_env.sandbox.traffic
    ws = notion_env.sandbox.notion.ws

    first = run_source("notion", notion_source)
    first_requests = traffic.count("notion")
    second = run_source("notion", notion_source)  # nothing changed: loads nothing, still one row
    second_requests = traffic.count("notion") - first_requests

    rows = ledger_rows(warehouse)
    assert [r["run_id"] for r in rows] == [first.run_id, second.run_id]
    assert len({r["run_id"] for r in rows}) == 2
    one, two = rows
    assert one["status"] == two["status"] == "success"
    assert one["source"] == "notion" and one["mode"] == "incremental"
    assert one["error_summary"] is None and one["failed_step"] is None

    # rows per table: every page and data source the sandbox holds, and exactly what landed in raw
    per_table = json.loads(one["rows_per_table"])
    live_pages = [p for p in ws.pages.values() if not p.in_trash]  # a first load skips pages already in the trash
    assert per_table["notion__habit_pages"] == len(live_pages) == warehouse.count("raw.notion__habit_pages")
    assert per_table["notion__data_sources"] == len(ws.data_sources)
    for child in ("notion__habit_pages__properties", "notion__data_sources__properties"):
        assert per_table[child] == warehouse.count(f"raw.{child}") > 0
    assert one["total_rows"] == sum(per_table.values())
    assert len(json.loads(one["load_ids"])) == 1

    # requests: what the sandbox saw, run by run
    assert one["api_requests"] == first_requests > 0
    assert two["api_requests"] == second_requests > 0
    assert one["api_retries"] == 0

    assert json.loads(two["rows_per_table"]) == {} and two["total_rows"] == 0
    assert one["started_at"] < one["finished_at"] <= two["started_at"] < two["finished_at"]


def test_full_refresh_mode_and_reason_are_recorded(notion_env, warehouse, monkeypatch):
    monkeypatch.setenv("NOTION_FULL_REFRESH", "true")
    run_source("notion", notion_source)
    (row,) = ledger_rows(warehouse)
    assert row["mode"] == "full_refresh"
    assert row["mode_reason"] == "NOTION_FULL_REFRESH=true"


def test_failed_run_is_recorded_without_the_secret_and_still_raises(notion_env, warehouse, monkeypatch):
    run_source("notion", notion_source)
    wrong_token = "secret_wrong-token-0123456789"
    monkeypatch.setenv("SOURCES__NOTION__API_TOKEN", wrong_token)
    before = notion_env.sandbox.traffic.count("notion")

    with pytest.raises(SourceError):
        run_source("notion", notion_source)

    ok, failed = ledger_rows(warehouse)
    assert ok["status"] == "success"
    assert failed["status"] == "failed"
    assert "401" in failed["error_summary"] and "\n" not in failed["error_summary"]
    assert wrong_token not in failed["error_summary"]
    assert wrong_token not in json.dumps(failed, default=str)
    assert failed["failed_step"] == "setup"  # the token is rejected while discovering the data sources
    assert failed["api_requests"] == notion_env.sandbox.traffic.count("notion") - before
    assert failed["total_rows"] == 0


def test_pipeline_health_shows_last_success_after_a_failure(notion_env, warehouse, monkeypatch):
    first = run_source("notion", notion_source)
    monkeypatch.setenv("SOURCES__NOTION__API_TOKEN", "secret_wrong-token-0123456789")
    with pytest.raises(SourceError):
        run_source("notion", notion_source)

    run_dbt("build", "--select", "+pipeline_health")

    cols = ["source_name", "freshness_status", "last_success_run_id", "last_success_rows",
            "last_success_api_requests", "hours_since_success", "last_run_status", "failed_runs_since_success"]
    (health,) = [dict(zip(cols, r, strict=True)) for r in warehouse.query(f"select {', '.join(cols)} from marts.pipeline_health")]
    assert health["source_name"] == "notion"
    assert health["freshness_status"] == "fresh"
    assert health["last_success_run_id"] == first.run_id
    assert health["last_success_rows"] == first.total_rows
    assert health["last_success_api_requests"] == first.api_requests
    assert 0 <= health["hours_since_success"] < 1
    assert health["last_run_status"] == "failed"
    assert health["failed_runs_since_success"] == 1


def test_pipeline_health_builds_on_a_warehouse_without_a_ledger(warehouse):
    run_dbt("build", "--select", "+pipeline_health")
    assert warehouse.count("marts.pipeline_health") == 0
    assert warehouse.count("staging.stg_ops__pipeline_runs") == 0

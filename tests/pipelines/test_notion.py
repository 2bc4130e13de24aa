"""The Notion source against the sandbox: counts, idempotence, edits, trash, rate limits, full refresh, errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipelines.common.runner import run_source
from pipelines.notion import notion_source
from tests.conftest import REPO, Warehouse

PAGES = "raw.notion__habit_pages"


def load():
    return run_source("notion", notion_source)


def query_count(server) -> int:
    return server.sandbox.traffic.count("notion", "POST /v1/data_sources/query")


def test_first_run_loads_every_page_then_nothing(notion_env, warehouse):
    pages = notion_env.sandbox.notion.ws.pages
    first = load()
    assert first.rows["notion__habit_pages"] == len(pages)
    assert warehouse.count(PAGES) == len(pages)
    assert warehouse.scalar(f"select count(*) from {PAGES} where is_deleted") == sum(p.in_trash for p in pages.values())
    assert first.api_requests == sum(notion_env.sandbox.traffic.counts.values())

    notion_env.sandbox.traffic.reset()
    second = load()
    assert second.total_rows == 0
    assert query_count(notion_env) <= len(notion_env.sandbox.notion.ws.data_sources)
    assert warehouse.count(PAGES) == len(pages)


def test_edit_in_the_cursor_minute_updates_the_row_in_place(notion_env, warehouse):
    load()
    store = notion_env.sandbox.notion
    cursor_minute = max(p.last_edited_time for p in store.ws.pages.values())
    page = next(p for p in store.ws.pages.values() if not p.in_trash and p.last_edited_time < cursor_minute)
    # an edit stamped with the very minute the last run's cursor stopped at
    store.edit_page(page.id, {"Sleep hours": 11.5}, at=cursor_minute)
    report = load()
    assert report.rows["notion__habit_pages"] == 1
    assert warehouse.scalar(f"select count(*) from {PAGES} where page_id = ?", [page.id]) == 1
    value = warehouse.scalar(
        "select value_text from raw.notion__habit_pages__properties where page_id = ? and property_name = 'Sleep hours'",
        [page.id])
    assert value == "11.5"


def test_trashed_page_is_marked_deleted(notion_env, warehouse):
    load()
    store = notion_env.sandbox.notion
    page = next(p for p in store.ws.pages.values() if not p.in_trash)
    store.trash_page(page.id)
    load()
    assert warehouse.query(f"select is_deleted from {PAGES} where page_id = ?", [page.id]) == [(True,)]


def _snapshot(warehouse: Warehouse) -> tuple[list, list]:
    pages = warehouse.query(f"select page_id, last_edited_time, is_deleted, content_hash from {PAGES} order by page_id")
    props = warehouse.query("select page_id, property_id, property_name, value_text "
                            "from raw.notion__habit_pages__properties order by page_id, property_id")
    return pages, props


def test_rate_limited_run_completes_with_identical_tables(notion_env, warehouse, tmp_path, monkeypatch):
    load()
    calm = _snapshot(warehouse)

    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "limited.duckdb"))
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "limited_state"))
    notion_env.sandbox.traffic.set_rate_limit("notion", 4, window_seconds=1.0)
    report = load()
    assert report.api_retries > 0, "the sandbox should have answered some 429s"
    assert _snapshot(Warehouse(tmp_path / "limited.duckdb")) == calm


def test_server_errors_are_retried(notion_env, warehouse):
    notion_env.sandbox.traffic.inject("notion", [500, 503, 429])
    report = load()
    assert report.api_retries == 3
    assert warehouse.count(PAGES) == len(notion_env.sandbox.notion.ws.pages)


def test_result_cap_re_anchors_and_misses_nothing(notion_env, warehouse):
    notion_env.sandbox.notion.result_cap = 50
    load()
    pages = notion_env.sandbox.notion.ws.pages
    assert warehouse.count(PAGES) == len(pages)
    assert warehouse.scalar(f"select count(distinct page_id) from {PAGES}") == len(pages)


@pytest.mark.parametrize("trigger", ["argument", "NOTION_FULL_REFRESH", "FORCE_FULL_REFRESH"])
def test_full_refresh_rebuilds_the_same_tables(notion_env, warehouse, monkeypatch, trigger):
    load()
    before = _snapshot(warehouse)
    if trigger != "argument":
        monkeypatch.setenv(trigger, "true")
    report = run_source("notion", notion_source, full_refresh=trigger == "argument")
    assert report.mode.full_refresh
    assert (trigger if trigger != "argument" else "--full-refresh") in report.mode.reason
    assert report.rows["notion__habit_pages"] == len(notion_env.sandbox.notion.ws.pages)
    assert _snapshot(warehouse) == before


def _cli(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.notion"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_missing_token_is_one_actionable_line(notion_env, warehouse):
    env = {k: v for k, v in os.environ.items() if k != "SOURCES__NOTION__API_TOKEN"}
    result = _cli(env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "api_token" in lines[0] and "secrets.toml" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_wrong_database_id_is_one_line_without_the_token(notion_env, warehouse):
    secret = "sandbox-notion-token"
    env = {**os.environ, "SOURCES__NOTION__DATABASES": '{"daily": "11111111-2222-3333-4444-555555555555"}'}
    result = _cli(env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "not found" in lines[0] and "11111111-2222-3333-4444-555555555555" in lines[0]
    assert secret not in result.stderr + result.stdout


def test_bad_token_is_one_line_without_the_token(notion_env, warehouse):
    env = {**os.environ, "SOURCES__NOTION__API_TOKEN": "wrong-but-secret-value"}
    result = _cli(env)
    assert result.returncode == 1
    assert "401" in result.stderr
    assert "wrong-but-secret-value" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_run_log_states_mode_rows_requests_and_duration(notion_env, warehouse):
    result = _cli({**os.environ, "NOTION_FULL_REFRESH": "true"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "mode: full refresh (NOTION_FULL_REFRESH=true)" in out
    assert f"notion__habit_pages: {len(notion_env.sandbox.notion.ws.pages)} rows" in out
    assert "API requests: 12" in out
    assert " s" in out and "loaded into" in out

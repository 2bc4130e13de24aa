"""The Notion source against the sandbox: counts, idempotence, edits, trash and reconcile, per-data-source
cursors, rejected pages, self-healing data sources, rate limits, full refresh, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pytest

from pipelines.common.errors import SourceError
from pipelines.common.runner import run_source
from pipelines.notion import notion_source
from tests.conftest import REPO, SHORT_LIFE, TEST_LIFE, Warehouse

PAGES = "raw.notion__habit_pages"
QUERY = "POST /v1/data_sources/query"
ID_ONLY_QUERY = "POST /v1/data_sources/query?filter_properties"


pytestmark = pytest.mark.usefixtures("ledger_off")  # what the source loads; the ledger has its own tests


@pytest.fixture
def sandbox_life():
    """Half a year: the behaviour under test needs no more (the year-long loads run in tests/dbt and the demo)."""
    return SHORT_LIFE

def load():
    return run_source("notion", notion_source)


def query_count(server) -> int:
    """Incremental queries (the id-only reconcile listings are counted apart)."""
    traffic = server.sandbox.traffic
    return traffic.count("notion", QUERY) - traffic.count("notion", ID_ONLY_QUERY)


def id_only_count(server) -> int:
    return server.sandbox.traffic.count("notion", ID_ONLY_QUERY)


def live_pages(store, data_source_id: str | None = None) -> list:
    return [p for p in store.ws.pages.values()
            if not p.in_trash and data_source_id in (None, p.data_source_id)]


def data_source(store, frequency: str):
    return next(ds for ds in store.ws.data_sources.values() if ds.frequency == frequency)


def is_deleted(warehouse, page_id: str) -> list:
    return warehouse.query(f"select is_deleted from {PAGES} where page_id = ?", [page_id])


def test_first_run_loads_every_live_page_then_nothing(notion_env, warehouse):
    store = notion_env.sandbox.notion
    live = live_pages(store)
    assert len(live) < len(store.ws.pages), "the generator trashes a few pages"
    first = load()
    assert first.rows["notion__habit_pages"] == len(live)
    assert warehouse.count(PAGES) == len(live)
    assert warehouse.scalar(f"select count(*) from {PAGES} where is_deleted") == 0
    assert first.api_requests == sum(notion_env.sandbox.traffic.counts.values())
    assert id_only_count(notion_env) == 0, "a first load reads every live page: nothing to reconcile"

    notion_env.sandbox.traffic.reset()
    second = load()
    assert second.total_rows == 0
    assert query_count(notion_env) <= len(store.ws.data_sources)
    # the reconcile: one id-only request per 100 live pages of each data source
    assert id_only_count(notion_env) == sum(-(-len(live_pages(store, ds_id)) // 100) for ds_id in store.ws.data_sources)
    assert warehouse.count(PAGES) == len(live)


def test_duckdb_loads_parquet_files_not_insert_statements(notion_env, warehouse, monkeypatch):
    """dlt's DuckDB default is INSERT ... VALUES files, which DuckDB must parse; ours is Parquet
    (pipelines.common.settings.loader_file_format). The merge's follow-up jobs stay SQL."""
    from pipelines.common.settings import pipelines_dir

    monkeypatch.setenv("LOAD__DELETE_COMPLETED_JOBS", "false")  # keep the loaded job files to look at
    assert load().rows["notion__habit_pages"] > 0
    jobs = sorted(p.name for p in pipelines_dir().glob("notion/load/loaded/*/completed_jobs/notion__*"))
    data = [job for job in jobs if not job.endswith(".sql")]
    assert data and all(job.endswith(".parquet") for job in data), jobs


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


def test_trashed_page_is_marked_deleted_by_the_reconcile_keeping_its_last_content(notion_env, warehouse, capsys):
    load()
    store = notion_env.sandbox.notion
    page = live_pages(store)[0]
    before = warehouse.query(f"select title, habit_date, content_hash from {PAGES} where page_id = ?", [page.id])
    props = "select count(*) from raw.notion__habit_pages__properties where page_id = ?"
    n_props = warehouse.scalar(props, [page.id])
    store.trash_page(page.id)
    capsys.readouterr()
    report = load()
    assert report.rows["notion__habit_pages"] == 1
    assert is_deleted(warehouse, page.id) == [(True,)]
    assert warehouse.query(f"select title, habit_date, content_hash from {PAGES} where page_id = ?", [page.id]) == before
    assert warehouse.scalar(props, [page.id]) == n_props > 0
    assert warehouse.scalar(f"select count(*) from {PAGES} where is_deleted") == 1
    assert "daily (ds " in capsys.readouterr().out
    # once marked, the next reconcile has nothing to do
    assert load().total_rows == 0


@pytest.mark.parametrize("setting,deleted_after_runs", [("off", None), ("2", 3)])
def test_reconcile_setting_off_or_every_nth_run(notion_env, warehouse, monkeypatch, setting, deleted_after_runs):
    monkeypatch.setenv("SOURCES__NOTION__RECONCILE", setting)
    load()  # run 1, a first load: it read every live page, which counts as a reconcile
    store = notion_env.sandbox.notion
    page = live_pages(store)[0]
    store.trash_page(page.id)
    for run in (2, 3):
        load()
        expected = deleted_after_runs is not None and run >= deleted_after_runs
        assert is_deleted(warehouse, page.id) == [(expected,)], f"after run {run}"
    assert (id_only_count(notion_env) == 0) == (deleted_after_runs is None)


def _fail_the_reconcile_mid_way(server, monkeypatch) -> None:
    """The daily listing's first page answers, then 429s outlast the client's retries."""
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "2")  # dlt's HTTP client: two tries, then give up
    store, traffic = server.sandbox.notion, server.sandbox.traffic
    daily, real_query, fired = data_source(store, "daily").id, store.query, []

    def query(data_source_id, body):
        if data_source_id == daily and "filter" not in body and not fired:
            fired.append(True)
            traffic.inject("notion", [429] * 2)
        return real_query(data_source_id, body)

    store.query = query


@pytest.mark.parametrize("failure", ["429 outlasting retries", "10,000-result cap"])
def test_incomplete_reconcile_deletes_nothing(notion_env, warehouse, monkeypatch, capsys, failure):
    load()
    store = notion_env.sandbox.notion
    page = live_pages(store, data_source(store, "daily").id)[-1]
    store.trash_page(page.id)
    if failure.startswith("429"):
        _fail_the_reconcile_mid_way(notion_env, monkeypatch)
    else:
        store.result_cap = 100  # daily has more live pages than that: every page of the listing says incomplete
    capsys.readouterr()
    report = load()
    incomplete = [line for line in capsys.readouterr().out.splitlines() if "reconcile incomplete" in line]
    assert len(incomplete) == 1 and "[notion] daily (ds " in incomplete[0], incomplete
    assert report.rows.get("notion__habit_pages", 0) == 0
    assert warehouse.scalar(f"select count(*) from {PAGES} where is_deleted") == 0
    assert is_deleted(warehouse, page.id) == [(False,)]

    # the API answers normally again: the reconcile is still due, and completes
    vars(store).pop("query", None)
    store.result_cap = 10_000
    load()
    assert is_deleted(warehouse, page.id) == [(True,)]


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
    assert warehouse.count(PAGES) == len(live_pages(notion_env.sandbox.notion))


def test_result_cap_re_anchors_and_misses_nothing(notion_env, warehouse):
    notion_env.sandbox.notion.result_cap = 50
    load()
    pages = live_pages(notion_env.sandbox.notion)
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
    assert report.rows["notion__habit_pages"] == len(live_pages(notion_env.sandbox.notion))
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


@pytest.mark.parametrize("sandbox_life", [TEST_LIFE], ids=["year"])  # the 12 requests of a year's pages
def test_run_log_states_mode_rows_requests_and_duration(notion_env, warehouse):
    result = _cli({**os.environ, "NOTION_FULL_REFRESH": "true"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "mode: full refresh (NOTION_FULL_REFRESH=true)" in out
    assert f"notion__habit_pages: {len(live_pages(notion_env.sandbox.notion))} rows" in out
    assert "API requests: 12" in out
    assert " s" in out and "loaded into" in out
    for ds in notion_env.sandbox.notion.ws.data_sources.values():
        assert f"[notion] {ds.frequency} (ds {ds.id}): first load" in out


def _clean_load_snapshot(monkeypatch, tmp_path) -> tuple[list, list]:
    """Every configured database loaded from scratch into a second warehouse, as the reference."""
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "clean.duckdb"))
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "clean_state"))
    load()
    return _snapshot(Warehouse(tmp_path / "clean.duckdb"))


def test_adding_databases_loads_their_whole_history(notion_env, warehouse, monkeypatch, tmp_path, capsys):
    store = notion_env.sandbox.notion
    ids = store.ws.database_ids
    daily, weekly, monthly = (data_source(store, f) for f in ("daily", "weekly", "monthly"))
    monkeypatch.setenv("SOURCES__NOTION__DATABASES", json.dumps({"daily": ids["daily"]}))
    assert load().rows["notion__habit_pages"] == len(live_pages(store, daily.id))

    monkeypatch.setenv("SOURCES__NOTION__DATABASES", json.dumps(ids))
    capsys.readouterr()
    added = load()
    out = capsys.readouterr().out
    assert added.rows["notion__habit_pages"] == len(live_pages(store, weekly.id)) + len(live_pages(store, monthly.id))
    assert f"[notion] daily (ds {daily.id}): incremental from 2025-" in out
    assert f"[notion] weekly (ds {weekly.id}): first load" in out
    assert f"[notion] monthly (ds {monthly.id}): first load" in out
    assert warehouse.count(PAGES) == len(live_pages(store))

    grown = _snapshot(warehouse)
    assert grown == _clean_load_snapshot(monkeypatch, tmp_path)


def test_removing_a_database_loads_nothing_and_re_adding_it_loads_its_history(notion_env, warehouse, monkeypatch,
                                                                               capsys):
    store = notion_env.sandbox.notion
    ids = store.ws.database_ids
    weekly = data_source(store, "weekly")
    load()
    before = _snapshot(warehouse)

    monkeypatch.setenv("SOURCES__NOTION__DATABASES", json.dumps({f: i for f, i in ids.items() if f != "weekly"}))
    capsys.readouterr()
    assert load().total_rows == 0
    assert f"weekly (ds {weekly.id}) is no longer configured" in capsys.readouterr().out

    monkeypatch.setenv("SOURCES__NOTION__DATABASES", json.dumps(ids))
    assert load().rows == {"notion__habit_pages": len(live_pages(store, weekly.id)),
                           "notion__habit_pages__properties": sum(len(weekly.properties) for _ in live_pages(store, weekly.id))}
    assert _snapshot(warehouse) == before


def test_state_of_the_single_cursor_loader_is_migrated(notion_env, warehouse, capsys):
    """A warehouse written by the one-cursor loader reloads nothing and misses nothing after the upgrade."""
    from tests.fixtures.notion_single_cursor import single_cursor_notion_source

    store = notion_env.sandbox.notion
    run_source("notion", single_cursor_notion_source)
    before = warehouse.count(PAGES)
    cursor_minute = max(p.last_edited_time for p in live_pages(store))
    in_cursor_minute = next(p for p in live_pages(store) if p.last_edited_time < cursor_minute)
    store.edit_page(in_cursor_minute.id, {"Sleep hours": 11.5}, at=cursor_minute)
    later = next(p for p in live_pages(store) if p.id != in_cursor_minute.id)
    store.edit_page(later.id, {"Sleep hours": 3.5})

    capsys.readouterr()
    report = load()
    out = capsys.readouterr().out
    assert "migrated the single last_edited_time cursor" in out and "daily, weekly, monthly" in out
    assert "first load" not in out
    assert report.rows["notion__habit_pages"] == 2, "only the two edits, nothing re-read in the lag window"
    assert warehouse.count(PAGES) == before
    value = "select value_text from raw.notion__habit_pages__properties where page_id = ? and property_name = 'Sleep hours'"
    assert warehouse.scalar(value, [in_cursor_minute.id]) == "11.5"
    assert warehouse.scalar(value, [later.id]) == "3.5"
    assert load().rows.get("notion__habit_pages", 0) == 0


@pytest.mark.parametrize("sandbox_life", [TEST_LIFE], ids=["year"])  # 2 bad of a year's pages stay under 1 %
def test_unreadable_pages_are_rejected_and_the_rest_loads(notion_env, warehouse):
    store = notion_env.sandbox.notion
    null_edit, bad_edit = live_pages(store)[:2]
    store.malform_page(null_edit.id, last_edited_time=None)
    store.malform_page(bad_edit.id, last_edited_time="yesterday")
    report = load()
    assert report.rows["notion__habit_pages"] == len(live_pages(store)) - 2
    assert report.rejected == {"habit_pages": 2}
    rejected = warehouse.query("select record_key, entity, origin, reason from raw.notion__rejected order by reason")
    endpoint = f"POST /v1/data_sources/{null_edit.data_source_id}/query"
    assert sorted((key, entity, origin) for key, entity, origin, _ in rejected) == sorted([
        (null_edit.id, "habit_pages", endpoint), (bad_edit.id, "habit_pages", endpoint)])
    assert all("last_edited_time" in reason for *_, reason in rejected)
    assert warehouse.scalar(f"select count(*) from {PAGES} where page_id in (?, ?)", [null_edit.id, bad_edit.id]) == 0


def test_duplicate_data_source_rows_heal_on_the_next_run(notion_env, warehouse):
    """A load killed half-way left each data source twice (with its properties); a normal run repairs it."""
    load()
    con = duckdb.connect(str(warehouse.path))
    try:
        con.execute("insert into raw.notion__data_sources "
                    "select * replace (_dlt_id || '-again' as _dlt_id) from raw.notion__data_sources")
        con.execute("insert into raw.notion__data_sources__properties select * replace ("
                    "_dlt_id || '-again' as _dlt_id, _dlt_parent_id || '-again' as _dlt_parent_id, "
                    "_dlt_root_id || '-again' as _dlt_root_id) from raw.notion__data_sources__properties")
    finally:
        con.close()
    data_sources = notion_env.sandbox.notion.ws.data_sources
    assert warehouse.count("raw.notion__data_sources") == 2 * len(data_sources)

    report = load()
    assert report.rows["notion__data_sources"] == len(data_sources)
    assert report.rows.get("notion__habit_pages", 0) == 0
    assert warehouse.count("raw.notion__data_sources") == len(data_sources)
    assert warehouse.scalar("select count(distinct data_source_id) from raw.notion__data_sources") == len(data_sources)
    assert warehouse.count("raw.notion__data_sources__properties") == sum(len(d.properties) for d in data_sources.values())
    assert load().total_rows == 0, "healed: the next run has nothing to repair"


def test_date_range_end_and_time_zone_land_in_raw(notion_env, warehouse):
    store = notion_env.sandbox.notion
    daily = data_source(store, "daily")
    page = live_pages(store, daily.id)[0]
    day = page.values[daily.prop_by_name("Date").id]
    store.edit_page(page.id, {"Date": {"start": f"{day}T07:30:00.000+02:00", "end": f"{day}T21:00:00.000+02:00",
                                       "time_zone": "Europe/Berlin"}})
    load()
    assert warehouse.query("select value_text, date_end, date_time_zone from raw.notion__habit_pages__properties "
                           "where page_id = ? and property_name = 'Date'", [page.id]) == [
        (f"{day}T07:30:00.000+02:00", f"{day}T21:00:00.000+02:00", "Europe/Berlin")]
    assert warehouse.query(f"select habit_date from {PAGES} where page_id = ?", [page.id]) == [(day,)]


def test_wrong_base_url_says_so_and_names_it(notion_env, warehouse, monkeypatch):
    wrong = f"{notion_env.url}/api/notion/v1"  # the sandbox answers FastAPI's own 404 body here
    monkeypatch.setenv("SOURCES__NOTION__API_BASE_URL", wrong)
    with pytest.raises(SourceError) as failure:
        load()
    message = str(failure.value)
    assert "base URL looks wrong" in message and f"sources.notion.api_base_url = {wrong}" in message
    assert "share the database" not in message

"""Every dashboard page renders from real marts with Streamlit's AppTest; filters change the numbers."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from datetime import timedelta

import duckdb
import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO

APP = str(REPO / "dashboard" / "app.py")


def open_app(warehouse_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("DASHBOARD_WAREHOUSE_PATH", str(warehouse_path))
    monkeypatch.setenv("PIPELINE_DESTINATION", "duckdb")
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.fixture
def app(notion_only_warehouse, monkeypatch):
    """Only Notion configured."""
    return open_app(notion_only_warehouse, monkeypatch)


@pytest.fixture
def full_app(full_warehouse, monkeypatch):
    """Every source loaded, as after `make demo`."""
    return open_app(full_warehouse, monkeypatch)


def goto(at: AppTest, page: str) -> AppTest:
    at.sidebar.radio(key="page").set_value(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def number(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").split()[0])


def test_overview_shows_headlines_and_the_synthetic_banner(app):
    goto(app, "Overview")
    assert any("Synthetic data" in w.value for w in app.warning)
    labels = [m.label for m in app.metric]
    assert "Habits: completion, last 7 days" in labels and "Habits: completion, last 30 days" in labels


def test_habits_page_has_its_charts_and_filters_change_the_numbers(app):
    goto(app, "Habits")
    assert len(charts(app)) == 3  # calendar, weekly trend, streak leaderboard
    periods = lambda: next(m.value for m in app.metric if m.label == "Habit periods in range")  # noqa: E731
    before = periods()
    app.multiselect(key="habit_categories").set_value(["mind"]).run()
    assert not app.exception
    after = periods()
    assert int(after.replace(",", "")) < int(before.replace(",", ""))
    app.selectbox(key="habit_calendar_habit").set_value("Read").run()
    assert "Read" in str(charts(app)[0].proto.spec)


@pytest.mark.parametrize("page, note", [("Health", "No health marts yet"), ("Relationships", "No CRM marts yet")])
def test_pages_for_unconfigured_sources_explain_instead_of_failing(app, page, note):
    goto(app, page)
    assert any(note in i.value for i in app.info)


def test_pipeline_page_renders(app):
    goto(app, "Pipeline")
    assert app.header[0].value == "Pipeline runs"
    # this warehouse's build left the ops marts out: the page says so instead of reading the ledger itself
    assert any("No pipeline runs yet" in i.value for i in app.info)


def test_missing_warehouse_is_a_friendly_note(tmp_path, monkeypatch):
    monkeypatch.setenv("DASHBOARD_WAREHOUSE_PATH", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception
    assert any("make demo" in i.value for i in at.info)


def test_overview_with_every_source_has_headlines_per_domain_and_a_freshness_row_per_source(full_app):
    goto(full_app, "Overview")
    labels = [m.label for m in full_app.metric]
    for label in ("Health: average steps, last 7 days", "Health: sleep a night, last 30 days",
                  "Relationships: touches, last 30 days"):
        assert label in labels
    sources = full_app.dataframe[0].value
    assert set(sources["source_name"]) == {"notion", "hubspot", "fitbit", "fitbit_export"}
    assert set(sources["last_run_status"]) == {"success"}


def test_health_page_charts_every_series_and_the_date_range_changes_the_numbers(full_app, full_warehouse):
    goto(full_app, "Health")
    specs = [str(c.proto.spec) for c in charts(full_app)]
    assert len(specs) == 7  # sleep, efficiency, steps with baseline band, resting heart rate, HRV, SpO2, weight
    assert "goal 7" in specs[0]  # the sleep goal line, from the sleep_goal_minutes var (420 min)
    assert "baseline band" in specs[2]
    wide = number(metric(full_app, "Steps a day"))
    # the mean the page shows is the mart's own mean over the same days
    con = duckdb.connect(str(full_warehouse), read_only=True)
    try:
        (first, last), = con.execute("select min(date_day), max(date_day) from marts.health_daily").fetchall()
        (expected,), = con.execute("select avg(steps) from marts.health_daily where date_day between ? and ?",
                                   [first, last]).fetchall()
    finally:
        con.close()
    full_app.date_input(key="health_range").set_value((first, last)).run()
    assert not full_app.exception
    assert number(metric(full_app, "Steps a day")) == pytest.approx(expected, abs=1)
    full_app.date_input(key="health_range").set_value((last - timedelta(days=6), last)).run()
    assert number(metric(full_app, "Steps a day")) != wide


def test_health_gaps_stay_gaps(full_app, full_warehouse):
    goto(full_app, "Health")
    weight = next(c for c in charts(full_app) if "Weight" in str(c.proto.spec))
    ys = plotted_y(weight.proto.spec)
    # days without a weigh-in are NaN in the plotted series (drawn as gaps), never zeros
    assert np.isnan(ys).any() and not (ys == 0).any()
    assert np.nanmin(ys) > 30


def plotted_y(spec: str) -> np.ndarray:
    """The y values of a figure's first trace, whether Plotly wrote them as a list or as typed-array bytes."""
    y = json.loads(spec)["data"][0]["y"]
    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"])).astype(float)
    return np.array([np.nan if v is None else v for v in y], dtype=float)


def test_relationships_page_lists_overdue_and_fading_contacts_and_filters_change_the_numbers(full_app, full_warehouse):
    goto(full_app, "Relationships")
    assert len(charts(full_app)) == 1
    overdue, fading = full_app.dataframe[0].value, full_app.dataframe[1].value
    assert list(overdue["days_since_last_touch"]) == sorted(overdue["days_since_last_touch"], reverse=True)
    con = duckdb.connect(str(full_warehouse), read_only=True)
    try:
        (n_fading,), = con.execute("select count(*) from marts.contact_touchpoints where is_fading").fetchall()
    finally:
        con.close()
    assert len(fading) == n_fading == number(metric(full_app, "Fading (no touch in 90+ days)")) > 0
    touches = number(metric(full_app, "Interactions in range"))
    full_app.multiselect(key="crm_types").set_value(["call"]).run()
    assert not full_app.exception
    assert 0 < number(metric(full_app, "Interactions in range")) < touches


def test_pipeline_page_shows_the_ledger(full_app, full_warehouse):
    goto(full_app, "Pipeline")
    assert len(charts(full_app)) == 1
    assert number(metric(full_app, "Runs shown")) == 4  # one run per source
    assert number(metric(full_app, "Failed")) == 0
    subheaders = [s.value for s in full_app.subheader]
    assert subheaders[:2] == ["Pipeline freshness: last successful load per source",
                              "Data recency: newest record per table"]
    health, recency, runs = (d.value for d in full_app.dataframe)
    con = duckdb.connect(str(full_warehouse), read_only=True)
    try:
        mart_runs = {r for (r,) in con.execute("select run_id from marts.fct_pipeline_runs").fetchall()}
        mart_tables = {t for (t,) in con.execute("select table_name from marts.data_recency").fetchall()}
    finally:
        con.close()
    assert set(health["source_name"]) == set(runs["source"]) == {"notion", "hubspot", "fitbit", "fitbit_export"}
    assert len(mart_runs) == 4
    assert set(recency["table_name"]) == mart_tables and {"notion__habit_pages", "hubspot__contacts"} <= mart_tables
    assert set(recency["recency_status"]) == {"warn"}  # the test year ended in 2025: old data, a warning only


def test_pipeline_page_reads_the_marts_not_the_ledger(full_warehouse, tmp_path, monkeypatch):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(full_warehouse, copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute("drop schema ops cascade")  # the raw ledger gone: only the marts built from it remain
    finally:
        con.close()
    at = goto(open_app(copy, monkeypatch), "Pipeline")
    assert number(metric(at, "Runs shown")) == 4
    assert not any("No pipeline runs yet" in i.value for i in at.info)


def test_a_pipeline_holding_the_warehouse_gives_a_busy_note_not_a_traceback(full_warehouse, monkeypatch):
    # a writer in another process holds DuckDB's file lock, exactly as a running pipeline does
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; "
                               f"con = duckdb.connect({str(full_warehouse)!r}); print('locked', flush=True); "
                               "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        monkeypatch.setenv("DASHBOARD_WAREHOUSE_PATH", str(full_warehouse))
        st.cache_data.clear()  # earlier tests cached these very queries; this one must reach the file
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        assert not at.exception
        assert any("Warehouse busy" in w.value for w in at.warning)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    at.run()  # once the writer is gone the same session recovers
    assert not at.exception and not any("Warehouse busy" in w.value for w in at.warning)

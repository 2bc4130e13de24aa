"""Every dashboard page renders from real marts with Streamlit's AppTest; filters change the numbers."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO

APP = str(REPO / "dashboard" / "app.py")


@pytest.fixture
def app(notion_only_warehouse, monkeypatch):
    monkeypatch.setenv("DASHBOARD_WAREHOUSE_PATH", str(notion_only_warehouse))
    monkeypatch.setenv("PIPELINE_DESTINATION", "duckdb")
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    return at


def goto(at: AppTest, page: str) -> AppTest:
    at.sidebar.radio(key="page").set_value(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


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


def test_missing_warehouse_is_a_friendly_note(tmp_path, monkeypatch):
    monkeypatch.setenv("DASHBOARD_WAREHOUSE_PATH", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception
    assert any("make demo" in i.value for i in at.info)

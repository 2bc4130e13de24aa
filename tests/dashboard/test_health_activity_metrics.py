"""The Health page's energy, activity, exercise and sleep-score figures equal the mart's own numbers (the warehouse
`make demo` builds, shared with tests/dashboard/test_pages.py); they are metrics, not charts (7 charts stay)."""

from __future__ import annotations

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO

APP = str(REPO / "dashboard" / "app.py")


def _number(text: str) -> float:
    return float(text.replace(",", "").split()[0])


def test_health_page_shows_calories_active_minutes_exercise_and_sleep_score(full_warehouse, monkeypatch):
    monkeypatch.setenv("DASHBOARD_WAREHOUSE_PATH", str(full_warehouse))
    monkeypatch.setenv("PIPELINE_DESTINATION", "duckdb")
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    at.sidebar.radio(key="page").set_value("Health").run()
    assert not at.exception, [e.message for e in at.exception]
    con = duckdb.connect(str(full_warehouse), read_only=True)
    try:
        (first, last), = con.execute("select min(date_day), max(date_day) from marts.health_daily").fetchall()
        at.date_input(key="health_range").set_value((first, last)).run()
        kcal, active, sessions, score = con.execute(
            """select avg(calories_kcal), avg(active_minutes), sum(exercise_sessions), avg(sleep_score)
               from marts.health_daily where date_day between ? and ?""", [first, last]).fetchall()[0]
    finally:
        con.close()
    shown = {m.label: m.value for m in at.metric}
    assert kcal and active and sessions and score, "the demo's export feeds every new column"
    assert _number(shown["Calories burned a day"]) == pytest.approx(kcal, abs=1)
    assert _number(shown["Active minutes a day"]) == pytest.approx(active, abs=1)
    assert _number(shown["Exercise sessions"]) == sessions
    assert _number(shown["Sleep score"]) == pytest.approx(score, abs=1)
    assert len(at.get("plotly_chart")) == 7

"""Calories, active minutes, exercise sessions and the sleep score, end to end: the synthetic export (sandbox, JSON
layout) -> the import -> the Google Health API replica's exercise sessions over real HTTP for the life's last days
-> real dbt (only the models these marts need, built once) -> marts equal to the generator's ground truth
(sandbox/fitbit_activity.py); a workout in both sources counts once. The CSV layout's readers are checked against
the same ground truth without dbt (tests/pipelines/test_fitbit_export_activity.py), and the CSV-only sleep-score
match by wake-up time by a dbt unit test of int_health__sleep_scores that runs in this build."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from pipelines.common.runner import run_source
from pipelines.fitbit import fitbit_source
from pipelines.fitbit.export import fitbit_export_source
from sandbox.fitbit_activity import FitbitActivity
from sandbox.fitbit_data import generate_health
from sandbox.fitbit_export import write_export
from sandbox.life import SyntheticLife
from tests.conftest import Warehouse, run_dbt
from tests.fixtures.fitbit import FITBIT_TEST_LIFE

SELECT = ("+fct_exercise_sessions", "+health_daily")
API_DAYS = 20  # the API replica is read for the life's last 20 days; the export holds all 60


@pytest.fixture(scope="module")
def life():
    health = generate_health(SyntheticLife(FITBIT_TEST_LIFE), heart_rate_interval=60)
    return health, FitbitActivity(health)


def _warehouse(folder, monkeypatch) -> Warehouse:
    monkeypatch.setenv("WAREHOUSE_PATH", str(folder / "warehouse.duckdb"))
    monkeypatch.setenv("PIPELINES_DIR", str(folder / "dlt_pipelines"))
    monkeypatch.setenv("PIPELINE_DESTINATION", "duckdb")
    monkeypatch.setenv("RUN_LEDGER", "off")
    for var in ("FORCE_FULL_REFRESH", "FITBIT_EXPORT_FULL_REFRESH", "FITBIT_FULL_REFRESH"):
        monkeypatch.delenv(var, raising=False)
    return Warehouse(folder / "warehouse.duckdb")


def _load_api_exercise(folder, monkeypatch) -> None:
    """The fitbit pipeline (Google Health API) against the sandbox, exercise sessions only, last API_DAYS days."""
    from sandbox.app import SandboxConfig
    from sandbox.server import SandboxServer

    with SandboxServer(SandboxConfig(life=FITBIT_TEST_LIFE, fitbit_heart_rate_interval=60)) as server:
        for name, value in server.pipeline_env().items():
            if name.startswith("SOURCES__FITBIT__"):
                monkeypatch.setenv(name, value)
        for name in ("SOURCES__FITBIT__TOKEN_STORE", "SOURCES__FITBIT__LAG_DAYS"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("SOURCES__FITBIT__TOKEN_STORE_PATH", str(folder / "tokens" / "fitbit.json"))
        monkeypatch.setenv("SOURCES__FITBIT__START_DATE",
                           (FITBIT_TEST_LIFE.end - timedelta(days=API_DAYS - 1)).isoformat())
        monkeypatch.setenv("SOURCES__FITBIT__DATA_TYPES", '["exercise_sessions"]')
        run_source("fitbit", fitbit_source)


@pytest.fixture(scope="module")
def marts(tmp_path_factory, life):
    """The export imported, the API's recent exercise sessions loaded, the marts built once."""
    health, _ = life
    folder = tmp_path_factory.mktemp("activity")
    manifest = write_export(health, folder / "export", heart_rate=False)
    with pytest.MonkeyPatch.context() as monkeypatch:
        warehouse = _warehouse(folder, monkeypatch)
        run_source("fitbit_export", lambda: fitbit_export_source(path=str(manifest.path)))
        _load_api_exercise(folder, monkeypatch)
        run_dbt("build", "--select", *SELECT, "--indirect-selection", "cautious")
        yield warehouse


def test_daily_calories_and_active_minutes_equal_the_generator(marts, life):
    warehouse = marts
    _, activity = life
    rows = warehouse.query("""select date_day, calories_kcal, very_active_minutes, moderately_active_minutes,
                                     lightly_active_minutes, sedentary_minutes, active_minutes
                              from marts.health_daily order by date_day""")
    assert rows, "health_daily is empty"
    seen = {}
    for day, kcal, very, moderate, light, sedentary, active in rows:
        truth = activity.days.get(day)
        if truth is None:
            assert (kcal, very, moderate, light) == (None, None, None, None), day  # an unworn day has no data
            continue
        seen[day] = True
        assert kcal == pytest.approx(truth.calories_kcal, abs=0.011), day
        assert (very, moderate, light) == (truth.minutes("very"), truth.minutes("moderate"),
                                           truth.minutes("light")), day
        assert active == very + moderate
        assert sedentary == truth.minutes("sedentary"), day  # the JSON layout's daily totals have them
    assert set(seen) == set(activity.days), "every worn day of the life has calories and active minutes"


def test_a_sleep_score_reaches_its_night(marts, life):
    warehouse = marts
    health, activity = life
    truth = {date.fromisoformat(log["dateOfSleep"]): activity.sleep_scores[log["logId"]]["overall"]
             for log in health.sleep if log["logId"] in activity.sleep_scores}
    got = dict(warehouse.query("select date_day, sleep_score from marts.health_daily where sleep_score is not null"))
    assert got == truth and len(truth) > 40  # joined by logId (every worn night's main sleep is scored)


def test_exercise_sessions_equal_the_generator_and_count_once(marts, life):
    warehouse = marts
    health, activity = life
    rows = warehouse.query("""select activity_date, start_at_local, exercise_type, duration_minutes, calories_kcal,
                                     distance_meters, average_heart_rate_bpm, steps, source_system
                              from marts.fct_exercise_sessions order by start_at_utc""")
    assert len(rows) == len(activity.exercises), "one row per session, none lost and none twice"
    api_from = FITBIT_TEST_LIFE.end - timedelta(days=API_DAYS - 1)
    for row, e in zip(rows, activity.exercises, strict=True):
        day, start, kind, minutes, kcal, meters, bpm, steps, source = row
        assert (day, start, kind) == (e.day, e.start_local, e.exercise_type.lower())
        assert minutes == e.minutes and kcal == pytest.approx(e.calories_kcal)
        assert meters == (pytest.approx(e.distance_m, abs=0.001) if e.distance_m is not None else None)
        assert (bpm, steps) == (e.average_heart_rate_bpm, e.steps)
        assert source == ("google_health_api" if day >= api_from else "takeout_export"), day  # the API ranks first
    both = warehouse.scalar("""select count(*) from staging.stg_fitbit_export__exercise_sessions as export
                               inner join staging.stg_google_health__exercise_sessions as api
                                   on export.start_at_utc = api.start_at_utc""")
    assert both == sum(e.day >= api_from for e in activity.exercises) > 0, "the overlap was really in both sources"
    counts = dict(warehouse.query("select date_day, exercise_sessions from marts.health_daily"))
    for e in activity.exercises:
        assert counts[e.day] == 1
    assert sum(counts.values()) == len(activity.exercises)


def test_the_health_daily_span_and_start_are_the_lifes(marts, life):
    warehouse = marts
    first, last = warehouse.query("select min(date_day), max(date_day) from marts.health_daily")[0]
    assert first == FITBIT_TEST_LIFE.start and last <= FITBIT_TEST_LIFE.end + timedelta(days=1)
    assert isinstance(first, date) and not isinstance(first, datetime)

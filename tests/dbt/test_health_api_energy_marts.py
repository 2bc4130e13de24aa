"""Calories and active minutes from the Google Health API, end to end: the synthetic export (JSON layout) imported
for the whole 60-day life, the API replica's active energy, basal energy and active minutes loaded over real HTTP
for its last days, real dbt (only what health_daily needs, built once) -> health_daily equal to the generator's
ground truth (sandbox/fitbit_activity.py) with every day counted once: from the API where it holds the whole day,
from the export elsewhere. Knobs make the API's answer differ from the export's on chosen days, so the marts
show which source they read."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pipelines.common.runner import run_source
from pipelines.fitbit import fitbit_source
from pipelines.fitbit.export import fitbit_export_source
from sandbox.fitbit_activity import FitbitActivity
from sandbox.fitbit_export import write_export
from tests.conftest import Warehouse, run_dbt
from tests.fixtures.fitbit import FITBIT_TEST_LIFE
from tests.fixtures.google_health import expected_rows

SELECT = ("+health_daily",)
API_DAYS = 10  # the API is read for the life's last 10 days; the export holds all 60
ENTITIES = ("active_energy_intervals", "basal_energy_intervals", "active_minutes_intervals")
EDITED_BASAL_KCAL = 100.0  # one basal hour of EDITED_DAY as the API answers it (the export's BMR hour is 69 kcal)
EDITED_VIGOROUS = 7  # the first active hour of EDITED_DAY as the API answers it: 7 vigorous minutes, nothing else


def _days() -> tuple[date, date, date, date]:
    """(first API day, the day the API edits, the day the API has no basal energy for, the life's last day)."""
    end = FITBIT_TEST_LIFE.end
    return end - timedelta(days=API_DAYS - 1), end - timedelta(days=2), end - timedelta(days=4), end


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The export imported, the API's energy and active minutes loaded with two days made to differ, the marts built
    once. Yields (warehouse, activity truth, {edited day: the API's changed hour})."""
    from sandbox.app import SandboxConfig
    from sandbox.server import SandboxServer

    folder = tmp_path_factory.mktemp("api_energy")
    api_from, edited, no_basal, _ = _days()
    with pytest.MonkeyPatch.context() as monkeypatch, \
            SandboxServer(SandboxConfig(life=FITBIT_TEST_LIFE, fitbit_heart_rate_interval=60)) as server:
        monkeypatch.setenv("WAREHOUSE_PATH", str(folder / "warehouse.duckdb"))
        monkeypatch.setenv("PIPELINES_DIR", str(folder / "dlt_pipelines"))
        monkeypatch.setenv("PIPELINE_DESTINATION", "duckdb")
        monkeypatch.setenv("RUN_LEDGER", "off")
        for var in ("FORCE_FULL_REFRESH", "FITBIT_EXPORT_FULL_REFRESH", "FITBIT_FULL_REFRESH",
                    "SOURCES__FITBIT__TOKEN_STORE", "SOURCES__FITBIT__LAG_DAYS"):
            monkeypatch.delenv(var, raising=False)
        health = server.sandbox.fitbit
        manifest = write_export(health, folder / "export", heart_rate=False)
        run_source("fitbit_export", lambda: fitbit_export_source(path=str(manifest.path)))

        data = server.sandbox.google_health.data
        basal_hour = data.day_points("basal-energy-burned", edited)[0]
        data.edit("basal-energy-burned", basal_hour.key, {"kcal": EDITED_BASAL_KCAL})
        minutes_hour = data.day_points("active-minutes", edited)[-1]  # newest first: the day's first active hour
        was = {e["activityLevel"]: int(e["activeMinutes"]) for e in minutes_hour.value["activeMinutesByActivityLevel"]}
        data.edit("active-minutes", minutes_hour.key, {"activeMinutesByActivityLevel": [
            {"activityLevel": "VIGOROUS", "activeMinutes": str(EDITED_VIGOROUS)}]})
        for point in data.day_points("basal-energy-burned", no_basal):
            data.delete("basal-energy-burned", point.key)
        # a point breaking the contract on the day the export gives anyway (the API holds it only in part)
        bad = data.day_points("active-energy-burned", api_from - timedelta(days=1))[0]
        data.make_corrupt("active-energy-burned", bad.key, {"kcal": -2.5})
        bad_minutes = data.day_points("active-minutes", api_from - timedelta(days=1))[0]
        data.make_corrupt("active-minutes", bad_minutes.key, {"activeMinutesByActivityLevel": [
            {"activityLevel": "LIGHT", "activeMinutes": "3"}, {"activityLevel": "LIGHT", "activeMinutes": "4"}]})

        for name, value in server.pipeline_env().items():
            if name.startswith("SOURCES__FITBIT__"):
                monkeypatch.setenv(name, value)
        monkeypatch.setenv("SOURCES__FITBIT__TOKEN_STORE_PATH", str(folder / "tokens" / "fitbit.json"))
        monkeypatch.setenv("SOURCES__FITBIT__START_DATE", api_from.isoformat())
        monkeypatch.setenv("SOURCES__FITBIT__DATA_TYPES", str(list(ENTITIES)).replace("'", '"'))
        report = run_source("fitbit", fitbit_source)
        run_dbt("build", "--select", *SELECT, "--indirect-selection", "cautious")
        yield Warehouse(folder / "warehouse.duckdb"), FitbitActivity(health), was, report


def _expected(activity: FitbitActivity, was: dict[str, int]) -> dict[date, tuple]:
    """(calories, very, moderate, light, sedentary, source) per worn day: the generator's truth, with the API's
    edits on the edited day, sedentary null on the days the API gives."""
    api_from, edited, no_basal, end = _days()
    out = {}
    for day, truth in activity.days.items():
        kcal = truth.calories_kcal
        very, moderate, light = truth.minutes("very"), truth.minutes("moderate"), truth.minutes("light")
        calories_source = minutes_source = "takeout_export"
        if api_from <= day <= end and day != no_basal:
            calories_source = minutes_source = "google_health_api"
        if day == no_basal:  # basal energy is what tells the API holds the whole day: without it the export wins
            minutes_source = "takeout_export"
        if day == edited:
            kcal += EDITED_BASAL_KCAL - 69.0
            very += EDITED_VIGOROUS - was.get("VIGOROUS", 0)
            moderate -= was.get("MODERATE", 0)
            light -= was.get("LIGHT", 0)
        sedentary = truth.minutes("sedentary") if minutes_source == "takeout_export" else None
        out[day] = (pytest.approx(kcal, abs=0.011), very, moderate, light, sedentary, calories_source, minutes_source)
    return out


def test_the_api_energy_and_active_minutes_tables_load_every_interval(loaded):
    warehouse, activity, _, report = loaded
    api_from, _, no_basal, end = _days()
    expected = expected_rows(activity.health, api_from, end, set())
    expected["fitbit__basal_energy_intervals"] -= 24  # the day whose basal energy the API deleted
    expected["fitbit__active_energy_intervals"] -= 1  # the corrupt points: rejected, the rest of their pages loads
    expected["fitbit__active_minutes_intervals"] -= 1
    for entity in ENTITIES:
        table = f"fitbit__{entity}"
        assert warehouse.scalar(f"select count(*) from raw.{table}") == expected[table] > 0, table
        assert report.rows[table] == expected[table]
    assert report.rejected == {"active_energy_intervals": 1, "active_minutes_intervals": 1}
    rejected = warehouse.query("select entity, reason, origin from raw.fitbit__rejected order by entity")
    assert rejected == [
        ("active_energy_intervals", "active-energy-burned data point rejected: ValueError: a value is below 0",
         "GET /v4/users/me/dataTypes/active-energy-burned/dataPoints:reconcile"),
        ("active_minutes_intervals", "active-minutes data point rejected: ValueError: activity level LIGHT twice in "
         "one interval", "GET /v4/users/me/dataTypes/active-minutes/dataPoints:reconcile")]
    assert warehouse.scalar("select count(*) from raw.fitbit__basal_energy_intervals "
                            "where cast(start_at_local as date) = ?", [no_basal]) == 0


def test_health_daily_calories_and_active_minutes_come_from_the_api_where_it_has_the_whole_day(loaded):
    warehouse, activity, was, _ = loaded
    expected = _expected(activity, was)
    rows = warehouse.query("""select daily.date_day, daily.calories_kcal, daily.very_active_minutes,
                                     daily.moderately_active_minutes, daily.lightly_active_minutes,
                                     daily.sedentary_minutes, calories.source_system, minutes.source_system
                              from marts.health_daily as daily
                              left join intermediate.int_health__daily_calories as calories
                                  on daily.date_day = calories.activity_date
                              left join intermediate.int_health__daily_active_minutes as minutes
                                  on daily.date_day = minutes.activity_date
                              order by daily.date_day""")
    got = {day: tuple(rest) for day, *rest in rows if day in expected}
    assert set(got) == set(expected), "every worn day has calories and active minutes"
    for day, row in got.items():
        assert row == expected[day], day
    _, _, no_basal, _ = _days()
    api_days = sum(row[5] == "google_health_api" for row in got.values())
    assert api_days == sum(d in activity.days and d != no_basal for d in _api_days()) > 5, "the API's whole days"
    unworn = [r for r in rows if r[0] not in expected]
    assert all(r[1:6] == (None,) * 5 for r in unworn), "an unworn day has no data from either source"


def _api_days() -> list[date]:
    api_from, _, _, end = _days()
    return [api_from + timedelta(days=i) for i in range((end - api_from).days + 1)]


def test_a_day_in_both_sources_counts_once(loaded):
    """The overlap is real (both staging layers hold the API's days), yet each date is one row and one total."""
    warehouse, activity, _, _ = loaded
    api_from, edited, no_basal, end = _days()
    both = warehouse.query("""select api.activity_date, sum(api.basal_kcal)
                              from staging.stg_google_health__basal_energy_intervals as api
                              where api.activity_date in (select activity_date
                                                          from staging.stg_fitbit_export__calories)
                              group by api.activity_date""")
    overlap = {d for d, _ in both}
    assert overlap >= {d for d in _api_days() if d in activity.days and d != no_basal}, "the days are in both"
    for model in ("int_health__daily_calories", "int_health__daily_active_minutes"):
        assert warehouse.scalar(f"""select count(*) - count(distinct activity_date)
                                    from intermediate.{model}""") == 0, model
    totals = dict(warehouse.query("select date_day, calories_kcal from marts.health_daily where date_day >= ?",
                                  [api_from]))
    for day in overlap - {edited}:
        if api_from <= day <= end:
            assert totals[day] == pytest.approx(activity.days[day].calories_kcal, abs=0.011), day  # not doubled


def test_the_first_api_day_cut_by_the_utc_window_yields_to_the_export(loaded):
    """The pipeline's window starts a UTC day early, so the API holds the local day before api_from only in part
    (the test life is UTC+10): its basal intervals span less than 23 hours, and the export's whole day wins."""
    warehouse, activity, _, _ = loaded
    api_from, _, _, _ = _days()
    part_day = api_from - timedelta(days=1)
    basal_minutes = warehouse.scalar("""select sum(interval_minutes) from staging.stg_google_health__basal_energy_intervals
                                        where activity_date = ?""", [part_day])
    assert 0 < basal_minutes < 23 * 60, "the API holds part of that day"
    (source, rank, kcal), = warehouse.query("""select source_system, source_rank, calories_kcal
                                               from intermediate.int_health__daily_calories where activity_date = ?""",
                                            [part_day])
    assert (source, rank) == ("takeout_export", 2)
    assert kcal == pytest.approx(activity.days[part_day].calories_kcal, abs=0.011)
    ranks = dict(warehouse.query("""select source_system, max(source_rank)
                                    from intermediate.int_health__daily_active_minutes group by source_system"""))
    assert ranks == {"google_health_api": 1, "takeout_export": 2}

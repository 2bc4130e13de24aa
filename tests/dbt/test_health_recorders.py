"""A day recorded by a watch and the phone in the pocket counts one recorder's steps and calories, not their sum
(issue 12): the contract fixture tests/fixtures/takeout/two_recorders imported and built by real dbt, on DuckDB
and on Postgres, next to JSON-layout exports (activity_json: calories, mixed: steps), whose days do not change.

Hand-computed from the fixture (tests/fixtures/takeout/README.md): 2026-07-14 the watch walked 395 steps and the
phone 305 (summed 700), calories 6.5 against 3.6 kcal; 2026-07-15 the watch was off the wrist (30 steps) and the
phone counted 750; four watch heart-rate samples (72, 75, 78, 81) beside two from the phone (90, 88)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import psycopg2
import pytest

from pipelines.common.runner import run_source
from pipelines.fitbit.export import fitbit_export_source
from tests.conftest import Warehouse, run_dbt
from tests.fixtures.fitbit import TAKEOUT_FIXTURES

SELECT = ("+marts.health", "source:fitbit_export")  # the raw key tests (file, time, recorder) run too
EXPORTS = ("two_recorders", "activity_json", "mixed")
WATCH, PHONE = "Pixel Watch 3", "MobileTrack"
JULY_14, JULY_15 = date(2026, 7, 14), date(2026, 7, 15)
# the JSON layout's days, as they were before recorders counted (test_health_marts, test_fitbit_export_activity)
JSON_DAYS = {date(2023, 2, 26): (45, None), date(2023, 3, 24): (15, None), date(2026, 9, 11): (None, 1.2),
             date(2026, 9, 12): (None, 3.65)}
DAILY = """select date_day, steps, calories_kcal from marts.health_daily
           where steps is not null or calories_kcal is not null order by date_day"""
HEART_RATE = """select heart_rate_date, min_bpm, avg_bpm, max_bpm, sample_count from marts.fct_heart_rate_daily
                where heart_rate_date = '2026-07-14'"""


def import_and_build(folder: Path, monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    """Each export (a copy in `folder`) in its own run (each has its own profile and time zone), then one dbt
    build."""
    monkeypatch.setenv("FITBIT_EXPORT_REJECTED_THRESHOLD", "0.5")  # activity_json holds a few bad records
    monkeypatch.setenv("RUN_LEDGER", "off")
    for var in ("FORCE_FULL_REFRESH", "FITBIT_EXPORT_FULL_REFRESH"):
        monkeypatch.delenv(var, raising=False)
    for name in EXPORTS:
        export = shutil.copytree(TAKEOUT_FIXTURES / name, folder / "takeout" / name)
        run_source("fitbit_export", lambda export=export: fitbit_export_source(path=str(export)))
    run_dbt("build", "--select", *SELECT, "--indirect-selection", "cautious", target=target)


@pytest.fixture(scope="module")
def duckdb_marts(tmp_path_factory) -> Warehouse:
    folder = tmp_path_factory.mktemp("recorders")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("WAREHOUSE_PATH", str(folder / "warehouse.duckdb"))
        monkeypatch.setenv("PIPELINES_DIR", str(folder / "dlt_pipelines"))
        monkeypatch.setenv("PIPELINE_DESTINATION", "duckdb")
        import_and_build(folder, monkeypatch, "dev")
    return Warehouse(folder / "warehouse.duckdb")


def test_staging_keeps_the_days_top_recorder(duckdb_marts):
    steps = duckdb_marts.query("""select activity_date, data_source, sum(steps), count(*)
                                  from staging.stg_fitbit_export__steps_intervals
                                  where activity_date between '2026-07-01' and '2026-07-31' group by 1, 2 order by 1""")
    assert steps == [(JULY_14, WATCH, 395, 5), (JULY_15, PHONE, 750, 2)]  # the top recorder is the day's own
    calories = duckdb_marts.query("""select activity_date, data_source, sum(calories_kcal)
                                     from staging.stg_fitbit_export__calories
                                     where activity_date between '2026-07-01' and '2026-07-31' group by 1, 2""")
    assert calories == [(JULY_14, WATCH, pytest.approx(6.5))]
    heart_rate = duckdb_marts.query("""select sample_date, data_source, count(*)
                                       from staging.stg_fitbit_export__heart_rate_samples
                                       where sample_date = '2026-07-14' group by 1, 2""")
    assert heart_rate == [(JULY_14, WATCH, 4)]  # the recorder with the most samples


def test_a_days_steps_and_calories_are_one_recorders_not_the_sum(duckdb_marts):
    daily = {day: (steps, kcal) for day, steps, kcal in duckdb_marts.query(DAILY)}
    assert daily[JULY_14] == (395, 6.5)  # not 700 steps and 10.1 kcal
    assert daily[JULY_15] == (750, None)
    activity = dict(duckdb_marts.query("""select activity_date, steps from marts.fct_daily_activity
                                          where activity_date between '2026-07-01' and '2026-07-31'"""))
    assert activity == {JULY_14: 395, JULY_15: 750}
    assert duckdb_marts.query(HEART_RATE) == [(JULY_14, 72, 76.5, 81, 4)]


def test_json_layout_days_are_unchanged(duckdb_marts):
    daily = {day: (steps, kcal) for day, steps, kcal in duckdb_marts.query(DAILY)}
    assert {day: daily.get(day) for day in JSON_DAYS} == JSON_DAYS


def test_postgres_builds_the_same_days(postgres_env, monkeypatch, tmp_path, duckdb_marts):
    monkeypatch.setenv("PIPELINE_DESTINATION", "postgres")
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "dlt_postgres"))
    import_and_build(tmp_path, monkeypatch, "postgres")
    con = psycopg2.connect(host=postgres_env.host, port=postgres_env.port, user=postgres_env.user,
                           dbname=postgres_env.dbname)
    try:
        def query(sql: str) -> list[tuple]:
            with con.cursor() as cur:
                cur.execute(sql)
                return [tuple(float(v) if hasattr(v, "is_nan") else v for v in row) for row in cur.fetchall()]

        daily = query(DAILY)
        assert daily == duckdb_marts.query(DAILY)
        assert (JULY_14, 395, 6.5) in daily
        assert query(HEART_RATE) == [(JULY_14, 72, 76.5, 81, 4)]
    finally:
        con.close()

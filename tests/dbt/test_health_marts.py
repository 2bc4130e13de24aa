"""Health marts built by real dbt from a Takeout export import, checked against the generator's own ground truth
(the synthetic export) and against hand-computed values (the contract fixtures in tests/fixtures/takeout)."""

from __future__ import annotations

import shutil
import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from pipelines.common.runner import run_source
from pipelines.fitbit.export import fitbit_export_source
from sandbox.fitbit_data import generate_health
from sandbox.fitbit_export import write_export
from sandbox.life import SyntheticLife
from tests.conftest import Warehouse, run_dbt
from tests.fixtures.fitbit import FITBIT_TEST_LIFE, TAKEOUT_FIXTURES

SLEEP_GOAL = 400
ENV = ("WAREHOUSE_PATH", "PIPELINES_DIR", "PIPELINE_DESTINATION")


def sleep_by_night(health) -> dict[date, int]:
    """Minutes asleep per night, by the rule the marts document: a session ending at 18:00 or later counts next day."""
    nights: dict[date, int] = defaultdict(int)
    for log in health.sleep:
        ended = datetime.fromisoformat(log["endTime"][:19])
        nights[(ended + timedelta(hours=6)).date()] += log["minutesAsleep"]
    return nights


def build_marts(folder: Path, export_path: Path, monkeypatch: pytest.MonkeyPatch, before=None) -> Warehouse:
    """Import the export into a fresh warehouse in `folder` and build the health marts (and what they read)."""
    monkeypatch.setenv("WAREHOUSE_PATH", str(folder / "warehouse.duckdb"))
    monkeypatch.setenv("PIPELINES_DIR", str(folder / "dlt_pipelines"))
    monkeypatch.setenv("PIPELINE_DESTINATION", "duckdb")
    for var in ("FORCE_FULL_REFRESH", "FITBIT_EXPORT_FULL_REFRESH"):
        monkeypatch.delenv(var, raising=False)
    warehouse = Warehouse(folder / "warehouse.duckdb")
    if before:
        before(warehouse)
    run_source("fitbit_export", lambda: fitbit_export_source(path=str(export_path)))
    run_dbt("build", "--select", "+marts.health", "--indirect-selection", "cautious",
            "--vars", f"{{sleep_goal_minutes: {SLEEP_GOAL}}}")
    return warehouse


@pytest.fixture(scope="module")
def fitbit_health_module():
    return generate_health(SyntheticLife(FITBIT_TEST_LIFE), heart_rate_interval=60)


@pytest.fixture(scope="module", params=["json", "csv"])
def health_marts(request, tmp_path_factory, fitbit_health_module):
    """The synthetic export (one layout per param) imported and built once for the oracle tests below."""
    folder = tmp_path_factory.mktemp(f"marts_{request.param}")
    manifest = write_export(fitbit_health_module, folder / "export", layout=request.param)
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield build_marts(folder, manifest.path, monkeypatch)


def test_health_daily_matches_the_generator(health_marts, fitbit_health_module):
    health = fitbit_health_module
    rows = health_marts.query("""select date_day, steps, sleep_minutes, resting_heart_rate, weight_kg, hrv_rmssd_ms,
                                        spo2_avg_percent, is_sleep_goal_met, is_steps_goal_met
                                 from marts.health_daily order by date_day""")
    nights = sleep_by_night(health)
    last_weigh_in = {date.fromisoformat(w["date"]): w["weight"] for w in sorted(health.weight,
                                                                                 key=lambda w: w["logId"])}
    days = [r[0] for r in rows]
    assert days == [days[0] + timedelta(days=i) for i in range(len(days))], "one row per date, no gaps"
    assert days[0] == health.life.config.start
    for day, steps, sleep, resting, weight, hrv, spo2, sleep_met, steps_met in rows:
        assert steps == health.steps.get(day)  # local days: the UTC stamps were shifted back to local time
        assert sleep == nights.get(day)
        expected_resting = health.resting_heart_rate.get(day)
        assert resting == (pytest.approx(expected_resting) if expected_resting is not None else None)
        assert weight == (pytest.approx(last_weigh_in[day], abs=1e-6) if day in last_weigh_in else None)
        assert hrv == health.hrv.get(day)
        assert spo2 == health.spo2.get(day)
        assert sleep_met == (nights.get(day, 0) >= SLEEP_GOAL)
        assert steps_met == (health.steps.get(day, 0) >= 10_000)
    assert any(r[7] for r in rows) and not all(r[7] for r in rows), "the goal var splits the nights"


def test_sleep_sessions_keep_every_log_and_normalise_stages(health_marts, fitbit_health_module):
    rows = {r[0]: r[1:] for r in health_marts.query(
        "select sleep_id, is_main_sleep, minutes_asleep, stage_asleep_minutes, stage_awake_minutes, deep_minutes "
        "from marts.fct_sleep_sessions")}
    assert len(rows) == len(fitbit_health_module.sleep)
    csv_layout = any(len(sleep_id) > 15 for sleep_id in rows)  # Google's sleep ids, not Fitbit's logIds
    for log in fitbit_health_module.sleep:
        main, asleep, stage_asleep, awake, deep = rows[str(7_000_000_000_000_000_000 + log["logId"])
                                                       if csv_layout else str(log["logId"])]
        summary = log["levels"]["summary"]
        assert main == log["isMainSleep"]
        assert asleep == log["minutesAsleep"]
        if csv_layout:  # stage minutes are summed from the 30-second stage segments: within a minute
            continue
        if log["type"] == "stages":
            assert (stage_asleep, awake, deep) == (
                summary["deep"]["minutes"] + summary["light"]["minutes"] + summary["rem"]["minutes"],
                summary["wake"]["minutes"], summary["deep"]["minutes"])
        else:
            assert (stage_asleep, awake, deep) == (
                summary["asleep"]["minutes"], summary["restless"]["minutes"] + summary["awake"]["minutes"], None)


def test_heart_rate_daily_aggregates_the_samples(health_marts, fitbit_health_module):
    rows = health_marts.query("select heart_rate_date, min_bpm, avg_bpm, max_bpm, sample_count, measured_minutes, "
                              "out_of_range_minutes + fat_burn_minutes + cardio_minutes + peak_minutes "
                              "from marts.fct_heart_rate_daily where sample_count > 0")
    assert {r[0] for r in rows} == fitbit_health_module.worn_days
    for day, low, mean, high, count, minutes, zone_minutes in rows:
        samples = fitbit_health_module.heart_rate(day)
        assert (low, high, count) == (samples.bpm.min(), samples.bpm.max(), len(samples))
        assert mean == pytest.approx(samples.bpm.mean(), abs=0.051)
        assert minutes == zone_minutes == len(np.unique(samples.seconds // 60))


def test_activity_baseline_is_the_median_of_the_first_14_active_days(health_marts, fitbit_health_module):
    steps_by_day = fitbit_health_module.steps
    rows = health_marts.query("select activity_date, steps, is_baseline_window, baseline_steps, "
                              "rolling_28d_baseline_steps from marts.activity_baseline order by activity_date")
    active = sorted(d for d, s in steps_by_day.items() if s > 0)
    expected_baseline = statistics.median(steps_by_day[d] for d in active[:14])
    assert [r[3] for r in rows] == [pytest.approx(expected_baseline, abs=0.05)] * len(rows)
    assert [r[0] for r in rows if r[2]] == active[:14]
    for day, _steps, _window, _baseline, rolling in rows:
        prior = [steps_by_day[d] for d in active if day - timedelta(days=28) <= d < day]
        expected = statistics.median(prior) if len(prior) >= 7 else None
        assert rolling == (pytest.approx(expected, abs=0.05) if expected is not None else None)


def test_the_mixed_fixture_counts_each_sample_once_in_kg_and_local_days(tmp_path, monkeypatch):
    export = tmp_path / "mixed"
    shutil.copytree(TAKEOUT_FIXTURES / "mixed", export)
    marts = build_marts(tmp_path, export, monkeypatch)
    daily = {r[0]: r[1:] for r in marts.query(
        "select date_day, steps, resting_heart_rate, weight_kg, hrv_rmssd_ms, spo2_avg_percent "
        "from marts.health_daily")}
    # two overlapping steps files both hold 02/25/23 13:52 and 02/26/23 02:00 (UTC): local 2023-02-26 counts them once
    assert daily[date(2023, 2, 26)][0] == 45
    assert daily[date(2023, 3, 24)][0] == 15
    # the 0 resting heart rate of 2023-01-26 is "no measurement"; the pound weigh-in is in kg
    assert daily[date(2023, 1, 26)][1] is None and daily[date(2023, 1, 27)][1] == pytest.approx(53.01)
    assert daily[date(2025, 9, 12)][2] == pytest.approx(198.1 * 0.45359237, abs=0.001)
    assert daily[date(2024, 7, 21)][3:] == (pytest.approx(29.232), pytest.approx(95.2))
    hr = dict(marts.query("select heart_rate_date, sample_count from marts.fct_heart_rate_daily"))
    assert (hr[date(2023, 1, 26)], hr[date(2023, 1, 27)]) == (4, 3)  # straddling files, local days
    assert hr[date(2024, 10, 27)] == 4  # JSON and CSV twins: each sample once
    sleep = marts.query("select sleep_id, sleep_date, assigned_sleep_date, stage_asleep_minutes "
                        "from marts.fct_sleep_sessions order by sleep_date")
    assert sleep == [("18841054316", date(2018, 7, 13), date(2018, 7, 13), 399),
                     ("44940631937", date(2024, 3, 21), date(2024, 3, 21), 474)]


def test_the_pound_account_marts_are_in_kilograms(tmp_path, monkeypatch, fitbit_health_module):
    manifest = write_export(fitbit_health_module, tmp_path / "export", weight_unit="lb")
    marts = build_marts(tmp_path, manifest.path, monkeypatch)
    last = {date.fromisoformat(w["date"]): w["weight"] for w in sorted(fitbit_health_module.weight,
                                                                        key=lambda w: w["logId"])}
    rows = dict(marts.query("select date_day, weight_kg from marts.health_daily where weight_kg is not null"))
    assert rows == {d: pytest.approx(kg, abs=0.05) for d, kg in last.items()}


def _legacy_tables(warehouse: Warehouse) -> None:
    """Rows an older version of both pipelines left in the shared legacy tables (local wall time, kg assumed)."""
    con = duckdb.connect(str(warehouse.path))
    try:
        con.execute("create schema if not exists raw")
        con.execute("""create table raw.fitbit__daily_activity as select * from (values
                           (date '2023-02-26', 999, 'api', timestamptz '2024-01-01 00:00:00+00'),
                           (date '2022-12-01', 4321, 'export', timestamptz '2024-01-01 00:00:00+00'))
                       as t(activity_date, steps, origin, loaded_at)""")
        con.execute("""create table raw.fitbit__heart_rate_daily as select * from (values
                           (date '2022-12-01', 58.5, 'export', timestamptz '2024-01-01 00:00:00+00'))
                       as t(heart_rate_date, resting_heart_rate, origin, loaded_at)""")
    finally:
        con.close()


def test_legacy_tables_fill_only_the_days_newer_sources_lack(tmp_path, monkeypatch):
    export = tmp_path / "mixed"
    shutil.copytree(TAKEOUT_FIXTURES / "mixed", export)
    marts = build_marts(tmp_path, export, monkeypatch, before=_legacy_tables)
    activity = {r[0]: r[1:] for r in marts.query("select activity_date, steps, source_system "
                                                 "from marts.fct_daily_activity")}
    assert activity[date(2023, 2, 26)] == (45, "takeout_export")  # the export wins over the legacy total
    assert activity[date(2022, 12, 1)] == (4321, "takeout_export_legacy")
    assert marts.scalar("select resting_heart_rate from marts.health_daily where date_day = '2022-12-01'") == 58.5

"""Health marts built by real dbt from a Fitbit export import, checked against the generator's own ground truth."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from pipelines.common.runner import run_source
from pipelines.fitbit.export import fitbit_export_source
from tests.conftest import run_dbt

SLEEP_GOAL = 400


def sleep_by_night(health) -> dict[date, int]:
    """Minutes asleep per night, by the rule the marts document: a session ending at 18:00 or later counts next day."""
    nights: dict[date, int] = defaultdict(int)
    for log in health.sleep:
        ended = datetime.fromisoformat(log["endTime"][:19])
        nights[(ended + timedelta(hours=6)).date()] += log["minutesAsleep"]
    return nights


@pytest.fixture
def health_marts(warehouse, fitbit_export):
    run_source("fitbit_export", lambda: fitbit_export_source(path=str(fitbit_export.path)))
    run_dbt("build", "--select", "+marts.health", "--indirect-selection", "cautious",
            "--vars", f"{{sleep_goal_minutes: {SLEEP_GOAL}}}")
    return warehouse


def test_health_daily_matches_the_generator(health_marts, fitbit_health):
    rows = health_marts.query("""select date_day, steps, sleep_minutes, resting_heart_rate, weight_kg, is_sleep_goal_met,
                                        is_steps_goal_met from marts.health_daily order by date_day""")
    nights = sleep_by_night(fitbit_health)
    last_weigh_in = {date.fromisoformat(w["date"]): w["weight"] for w in sorted(fitbit_health.weight,
                                                                                 key=lambda w: w["logId"])}
    days = [r[0] for r in rows]
    assert days == [days[0] + timedelta(days=i) for i in range(len(days))], "one row per date, no gaps"
    assert days[0] == fitbit_health.life.config.start
    for day, steps, sleep, resting, weight, sleep_met, steps_met in rows:
        assert steps == fitbit_health.steps.get(day)
        assert sleep == nights.get(day)
        expected_resting = fitbit_health.resting_heart_rate.get(day)
        assert resting == (pytest.approx(expected_resting) if expected_resting is not None else None)
        assert weight == last_weigh_in.get(day)
        assert sleep_met == (nights.get(day, 0) >= SLEEP_GOAL)
        assert steps_met == (fitbit_health.steps.get(day, 0) >= 10_000)
    assert any(r[5] for r in rows) and not all(r[5] for r in rows), "the goal var splits the nights"


def test_sleep_sessions_keep_every_log_and_normalise_stages(health_marts, fitbit_health):
    rows = {r[0]: r[1:] for r in health_marts.query(
        "select sleep_log_id, is_main_sleep, stage_asleep_minutes, stage_awake_minutes, deep_minutes "
        "from marts.fct_sleep_sessions")}
    assert len(rows) == len(fitbit_health.sleep)
    for log in fitbit_health.sleep:
        main, asleep, awake, deep = rows[log["logId"]]
        summary = log["levels"]["summary"]
        assert main == log["isMainSleep"]
        if log["type"] == "stages":
            assert (asleep, awake, deep) == (
                summary["deep"]["minutes"] + summary["light"]["minutes"] + summary["rem"]["minutes"],
                summary["wake"]["minutes"], summary["deep"]["minutes"])
        else:
            assert (asleep, awake, deep) == (
                summary["asleep"]["minutes"], summary["restless"]["minutes"] + summary["awake"]["minutes"], None)


def test_heart_rate_daily_aggregates_the_samples(health_marts, fitbit_health):
    rows = health_marts.query("select heart_rate_date, min_bpm, avg_bpm, max_bpm, sample_count, measured_minutes, "
                              "out_of_range_minutes + fat_burn_minutes + cardio_minutes + peak_minutes "
                              "from marts.fct_heart_rate_daily")
    assert {r[0] for r in rows} == fitbit_health.worn_days
    for day, low, mean, high, count, minutes, zone_minutes in rows:
        samples = fitbit_health.heart_rate(day)
        assert (low, high, count) == (samples.bpm.min(), samples.bpm.max(), len(samples))
        assert mean == pytest.approx(samples.bpm.mean(), abs=0.051)
        assert minutes == zone_minutes == len(np.unique(samples.seconds // 60))


def test_activity_baseline_is_the_median_of_the_first_14_active_days(health_marts, fitbit_health):
    rows = health_marts.query("select activity_date, steps, is_baseline_window, baseline_steps, "
                              "rolling_28d_baseline_steps from marts.activity_baseline order by activity_date")
    active = sorted(d for d, s in fitbit_health.steps.items() if s > 0)
    expected_baseline = statistics.median(fitbit_health.steps[d] for d in active[:14])
    assert [r[3] for r in rows] == [pytest.approx(expected_baseline, abs=0.05)] * len(rows)
    assert [r[0] for r in rows if r[2]] == active[:14]
    for day, _steps, _window, _baseline, rolling in rows:
        prior = [fitbit_health.steps[d] for d in active if day - timedelta(days=28) <= d < day]
        expected = statistics.median(prior) if len(prior) >= 7 else None
        assert rolling == (pytest.approx(expected, abs=0.05) if expected is not None else None)


# On Postgres and BigQuery these marts are proved by tests/destinations: every source loaded there
# builds marts equal row by row to this DuckDB build, which the tests above check against the generator.

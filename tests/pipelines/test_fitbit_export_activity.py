"""Calories, active minutes and exercise files of a Takeout export: the readers on the contract fixtures
(tests/fixtures/takeout/activity_json, activity_csv: hand-computed values, bad records rejected with a reason), and
the synthetic export (both layouts) against the generator's ground truth (sandbox/fitbit_activity.py)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime

import pytest

from pipelines.fitbit.export import main
from sandbox.fitbit_activity import FitbitActivity
from sandbox.fitbit_export import write_export


def rejected(warehouse, entity: str) -> list[tuple]:
    return warehouse.query("select reason, record_key from raw.fitbit_export__rejected where entity = ? order by 1",
                           [entity])


def test_json_layout_calories_active_minutes_and_exercise(warehouse, takeout_fixture, capsys, monkeypatch):
    monkeypatch.setenv("FITBIT_EXPORT_REJECTED_THRESHOLD", "0.5")  # a few records with one bad each: over 1 %
    assert main(["--path", str(takeout_fixture("activity_json"))]) == 0
    err = capsys.readouterr().err
    assert "ignored" not in err.split("records read:")[0].split("files:")[1]  # every file of the fixture is read
    # calories: UTC stamps, local dates in Australia/Sydney (+10); the -1 minute is rejected
    assert warehouse.query("""select activity_date, round(sum(calories_kcal), 2), count(*)
                              from raw.fitbit_export__calories group by 1 order by 1""") == [
        (date(2026, 9, 11), 1.2, 1), (date(2026, 9, 12), 3.65, 3)]
    assert warehouse.scalar("select min(start_at_local) from raw.fitbit_export__calories") == datetime(2026, 9, 11,
                                                                                                       23, 59)
    assert [r[0] for r in rejected(warehouse, "calories")] == ["calories absent or negative"]
    # active minutes: a day's total per level; the 12/31/99 placeholder (1999, before the file) is not data
    assert warehouse.query("""select activity_date, level, minutes, start_at_utc from raw.fitbit_export__active_minutes
                              order by 1, 2""") == [
        (date(2026, 9, 11), "very", 12, None), (date(2026, 9, 12), "light", 200, None),
        (date(2026, 9, 12), "moderate", 20, None), (date(2026, 9, 12), "sedentary", 800, None),
        (date(2026, 9, 12), "very", 30, None)]
    # exercise: start read as UTC; km and miles kept with their unit; an unknown unit and a missing logId rejected
    rows = warehouse.query("""select exercise_id, start_at_utc, start_at_local, end_at_local, activity_date,
                                     activity_name, duration_ms, active_duration_ms, calories_kcal, distance_value,
                                     distance_unit, steps, average_heart_rate_bpm, log_type
                              from raw.fitbit_export__exercise order by 1""")
    assert rows == [
        ("81000000001", datetime(2026, 9, 11, 22, 30, tzinfo=UTC), datetime(2026, 9, 12, 8, 30),
         datetime(2026, 9, 12, 9, 0), date(2026, 9, 12), "Walk", 1_800_000, 1_740_000, 175.0, 2.43, "kilometer",
         3150, 98, "auto_detected"),
        ("81000000002", datetime(2026, 9, 12, 8, 0, tzinfo=UTC), datetime(2026, 9, 12, 18, 0),
         datetime(2026, 9, 12, 18, 40), date(2026, 9, 12), "Run", 2_400_000, None, 410.0, 3.1, "mile", None, None,
         "manual")]
    assert rejected(warehouse, "exercise") == [
        ("exercise distance 5.0 without a known unit ('Furlong')", "81000000003"),
        ("exercise log without logId", None)]
    statuses = Counter(k for (k,) in warehouse.query(
        "select kind from raw.fitbit_export__files where status = 'imported'"))
    assert statuses == {"calories": 1, "active_minutes": 4, "exercise": 1}


def test_csv_layout_calories_active_minutes_and_exercise(warehouse, takeout_fixture, monkeypatch):
    monkeypatch.setenv("FITBIT_EXPORT_REJECTED_THRESHOLD", "0.5")
    assert main(["--path", str(takeout_fixture("activity_csv"))]) == 0
    # calories in a per-kind subfolder; local dates in Asia/Kolkata (+05:30): 18:30Z is the next local day
    assert warehouse.query("""select activity_date, sum(calories_kcal), count(*) from raw.fitbit_export__calories
                              group by 1 order by 1""") == [(date(2026, 9, 10), 1.5, 1), (date(2026, 9, 11), 3.75, 2)]
    assert warehouse.scalar("select distinct source_file from raw.fitbit_export__calories") == \
        "Calories/calories_2026-09-01.csv"
    assert [r[0] for r in rejected(warehouse, "calories")] == ["unparseable timestamp"]
    # active minutes: one row per (minute, level); a minute of zeros is none; no sedentary in this layout
    assert warehouse.query("""select activity_date, level, sum(minutes) from raw.fitbit_export__active_minutes
                              group by 1, 2 order by 1, 2""") == [
        (date(2026, 9, 10), "light", 1), (date(2026, 9, 11), "light", 1), (date(2026, 9, 11), "moderate", 1),
        (date(2026, 9, 11), "very", 2)]
    assert [r[0] for r in rejected(warehouse, "active_minutes")] == [
        "active minute without a parseable timestamp or level counts"]
    # exercise: UTC with the offset written out; tracker totals, else the manually logged ones; mm kept as mm
    assert warehouse.query("""select exercise_id, start_at_local, activity_date, activity_name, duration_ms,
                                     calories_kcal, distance_value, distance_unit, steps, average_heart_rate_bpm,
                                     log_type, utc_offset_minutes
                              from raw.fitbit_export__exercise order by 1""") == [
        ("9100000000000000001", datetime(2026, 9, 11, 6, 0), date(2026, 9, 11), "Outdoor Walk", 2_700_000, 210.5,
         3_650_000.0, "mm", 4800, 104, "auto_detected", 330),
        ("9100000000000000002", datetime(2026, 9, 11, 17, 30), date(2026, 9, 11), "Yoga", 2_400_000, 95.0, None,
         None, None, None, "manual", 330)]
    assert rejected(warehouse, "exercise") == [("exercise without id or with unparseable start/end",
                                                "9100000000000000003")]


@pytest.fixture
def mixed_activity_export(tmp_path, fitbit_health):
    """The synthetic 60-day life as a mixed export (both layouts: the CSV files win, the JSON twins are skipped)."""
    return write_export(fitbit_health, tmp_path / "export", layout="both", heart_rate=False)


def test_a_mixed_export_reads_the_csv_twins_and_equals_the_generator(warehouse, mixed_activity_export, fitbit_health):
    assert main(["--path", str(mixed_activity_export.path)]) == 0
    activity = FitbitActivity(fitbit_health)
    skipped = Counter(k for (k,) in warehouse.query(
        "select kind from raw.fitbit_export__files where status = 'twin_skipped'"))
    assert skipped["calories"] >= 2 and skipped["active_minutes"] >= 8 and skipped["exercise"] == 1
    # calories: every worn minute once, summing to the generator's day
    kcal = dict(warehouse.query("""select activity_date, round(sum(calories_kcal), 2) from raw.fitbit_export__calories
                                   group by 1"""))
    assert kcal.keys() == activity.days.keys()
    for day, truth in activity.days.items():
        assert kcal[day] == pytest.approx(truth.calories_kcal, abs=0.011), day
    # active minutes per day and level
    levels: dict[date, dict[str, int]] = defaultdict(dict)
    for day, level, minutes in warehouse.query("""select activity_date, level, sum(minutes)
                                                  from raw.fitbit_export__active_minutes group by 1, 2"""):
        levels[day][level] = minutes
    for day, truth in activity.days.items():
        expected = {lv: truth.minutes(lv) for lv in ("light", "moderate", "very") if truth.minutes(lv)}
        assert levels.get(day, {}) == expected, day
    # exercise: each session once (the JSON logs are twins of UserExercises), its metrics as generated
    rows = warehouse.query("""select start_at_local, activity_name, duration_ms, calories_kcal, distance_value,
                                     steps, average_heart_rate_bpm from raw.fitbit_export__exercise order by 1""")
    assert rows == [(e.start_local, e.name, e.minutes * 60_000, e.calories_kcal,
                     round(e.distance_m * 1000) if e.distance_m is not None else None, e.steps,
                     e.average_heart_rate_bpm) for e in activity.exercises]
    assert warehouse.count("raw.fitbit_export__sleep_score") == len(activity.sleep_scores) > 40

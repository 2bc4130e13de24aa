"""The synthetic Fitbit person and the Takeout export written from it: determinism, realism, and file shapes that
agree with the contract fixtures in tests/fixtures/takeout (which win when the two disagree)."""

from __future__ import annotations

import csv
import json
import tarfile
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from sandbox.fitbit_data import DEFAULT_TIMEZONE, generate_health
from sandbox.fitbit_export import EXPORT_FOLDER, write_export
from sandbox.life import LifeConfig, SyntheticLife
from tests.fixtures.fitbit import FITBIT_TEST_LIFE, TAKEOUT_FIXTURES

MIXED = TAKEOUT_FIXTURES / "mixed" / "Takeout" / "Fitbit"
CSV_ONLY = TAKEOUT_FIXTURES / "csv_only" / "Takeout" / "Google Health"
JSON_TS = "%m/%d/%y %H:%M:%S"


def header(path: Path) -> list[str]:
    with open(path, newline="") as f:
        return next(csv.reader(f))


def first_record(path: Path) -> dict:
    return json.loads(path.read_text())[0]


def test_generation_is_deterministic(fitbit_health):
    again = generate_health(SyntheticLife(FITBIT_TEST_LIFE), heart_rate_interval=60)
    assert again.sleep == fitbit_health.sleep and again.steps == fitbit_health.steps
    assert again.hrv == fitbit_health.hrv and again.spo2 == fitbit_health.spo2
    day = FITBIT_TEST_LIFE.start
    assert np.array_equal(again.heart_rate(day).bpm, fitbit_health.heart_rate(day).bpm)


def test_the_person_lives_in_a_time_zone_and_has_nightly_vitals(fitbit_health):
    assert fitbit_health.timezone == DEFAULT_TIMEZONE
    assert fitbit_health.utc_offset_minutes(datetime(2025, 1, 1, 12)) == 600
    assert set(fitbit_health.hrv) == set(fitbit_health.spo2) == fitbit_health.worn_days
    assert all(15 <= v <= 120 for v in fitbit_health.hrv.values())
    assert all(88 <= v <= 100 for v in fitbit_health.spo2.values())


def test_sleep_logs_are_consistent_like_the_api(fitbit_health):
    kinds = {log["type"] for log in fitbit_health.sleep}
    assert kinds == {"stages", "classic"}
    assert any(not log["isMainSleep"] for log in fitbit_health.sleep), "some naps"
    for log in fitbit_health.sleep:
        start = datetime.fromisoformat(log["startTime"][:19])
        end = datetime.fromisoformat(log["endTime"][:19])
        assert log["dateOfSleep"] == end.date().isoformat(), "dateOfSleep is the day the sleep ended"
        assert (end - start).total_seconds() == log["duration"] / 1000 == log["timeInBed"] * 60
        assert sum(seg["seconds"] for seg in log["levels"]["data"]) == log["duration"] / 1000
        asleep = ("asleep",) if log["type"] == "classic" else ("deep", "light", "rem")
        assert sum(log["levels"]["summary"][lv]["minutes"] for lv in asleep) == log["minutesAsleep"]



def test_a_night_keeps_its_log_id_when_the_life_is_generated_a_day_later():
    """The demo's life ends yesterday, so a second `make demo` a day later generates it shifted by one day; a logId
    that then named another night put two sessions under one id in the warehouse (a duplicate sleep_id)."""
    first = LifeConfig(start=date(2025, 3, 1), days=40)
    later = LifeConfig(start=first.start + timedelta(days=1), days=40)
    nights = [{log["logId"]: (log["dateOfSleep"], log["isMainSleep"]) for log in
               generate_health(SyntheticLife(config), heart_rate_interval=600).sleep} for config in (first, later)]
    shared = nights[0].keys() & nights[1].keys()
    assert len(shared) > 30
    assert {i: nights[0][i] for i in shared} == {i: nights[1][i] for i in shared}
def test_heart_rate_is_irregular_with_a_daily_rhythm():
    health = generate_health(SyntheticLife(FITBIT_TEST_LIFE))  # the benchmark's density: ~every 4 s
    day = next(d for d in sorted(health.worn_days) if not health.life.is_sick(d))
    samples = health.heart_rate(day)
    gaps = np.diff(samples.seconds)
    assert 15_000 < len(samples) < 24_000
    assert gaps.min() >= 1 and len(np.unique(gaps)) > 3, "samples are irregular, not one per second"
    night = samples.bpm[samples.seconds < 4 * 3600].mean()
    afternoon = samples.bpm[(samples.seconds > 12 * 3600) & (samples.seconds < 16 * 3600)].mean()
    assert afternoon > night + 10
    assert len(health.heart_rate(next(d for d in health.life.dates() if d not in health.worn_days))) == 0


# ------------------------------------------------------------------------------ the JSON layout --

def test_json_files_have_the_fixtures_shapes(fitbit_export):
    root = fitbit_export.root
    assert fitbit_export.folder.as_posix().endswith("Takeout/Fitbit/Global Export Data")
    for kind in ("heart_rate", "steps", "resting_heart_rate", "weight", "sleep"):
        ours = first_record(root / next(f for f, k in fitbit_export.files.items() if k == kind
                                        and f.endswith(".json")))
        theirs = first_record(next((MIXED / "Global Export Data").glob(f"{kind}-*.json")))
        # the same keys (a weigh-in without body fat has no "fat", as in real files)
        assert set(ours) == set(theirs) or (kind == "weight" and set(ours) == set(theirs) - {"fat"})
        if isinstance(theirs.get("value"), dict):
            assert set(ours["value"]) == set(theirs["value"])
        if kind == "sleep":
            assert set(ours["levels"]) == set(theirs["levels"])
            assert set(ours["levels"]["summary"]["light"]) == set(theirs["levels"]["summary"]["light"])
            assert "mainSleep" in ours and "isMainSleep" not in ours
        if kind == "steps":
            assert isinstance(ours["value"], str), "the export writes steps as strings"
    assert header(root / "Your Profile/Profile.csv") == header(MIXED / "Your Profile/Profile.csv")


def test_heart_rate_files_hold_a_local_day_in_utc_stamps(fitbit_export, fitbit_health):
    """The published example: heart_rate-2023-01-26.json runs from 01/25/23 13:00:07 to 01/26/23 12:59:57."""
    for name in sorted(f for f, k in fitbit_export.files.items() if k == "heart_rate")[:5]:
        day = date.fromisoformat(name[-15:-5])
        stamps = [datetime.strptime(s["dateTime"], JSON_TS) for s in json.loads(fitbit_export.file(name).read_text())]
        assert {(s + timedelta(hours=10)).date() for s in stamps} == {day}  # Brisbane, UTC+10
        assert min(stamps).date() == day - timedelta(days=1)
        assert len(stamps) == len(fitbit_health.heart_rate(day))


def test_steps_files_hold_a_month_and_overlap_the_next(fitbit_export, fitbit_health):
    files = sorted(f for f, k in fitbit_export.files.items() if k == "steps")
    first, second = ({datetime.strptime(e["dateTime"], JSON_TS) for e in json.loads(fitbit_export.file(f).read_text())}
                     for f in files[:2])
    assert first & second, "neighbouring steps files share some minutes"
    assert max(first) - min(first) > timedelta(days=28)


def test_the_pound_account_writes_pounds_and_says_en_us(fitbit_export_lb, fitbit_health):
    with open(fitbit_export_lb.file("Your Profile/Profile.csv"), newline="") as f:
        profile = next(csv.DictReader(f))
    assert profile["weight_unit"] == "en_US"
    records = [r for f, k in fitbit_export_lb.files.items() if k == "weight"
               for r in json.loads(fitbit_export_lb.file(f).read_text())]
    truth = {w["logId"]: w["weight"] for w in fitbit_health.weight}
    assert {r["logId"]: r["weight"] * 0.45359237 for r in records} == {
        k: pytest.approx(v, abs=0.05) for k, v in truth.items()}
    assert all("unit" not in r for r in records), "no unit field, as in real exports"


# ------------------------------------------------------------------------------ the CSV layout --

CSV_SHAPES = {  # sandbox file (below the product folder) -> the fixture file with the same shape
    "Physical Activity_GoogleData/heart_rate_2025-01-01.csv": MIXED / "Physical Activity_GoogleData/heart_rate_2024-10-27.csv",
    "Physical Activity_GoogleData/steps_2025-01-01.csv": CSV_ONLY / "Physical Activity_GoogleData/steps_2024-10-27.csv",
    "Physical Activity_GoogleData/weight.csv": CSV_ONLY / "Physical Activity_GoogleData/weight.csv",
    "Physical Activity_GoogleData/daily_resting_heart_rate.csv":
        CSV_ONLY / "Physical Activity_GoogleData/daily_resting_heart_rate.csv",
    "Health Fitness Data_GoogleData/UserSleeps_1.csv": CSV_ONLY / "Health Fitness Data_GoogleData/UserSleeps_2025.csv",
    "Health Fitness Data_GoogleData/UserSleepStages_1.csv":
        CSV_ONLY / "Health Fitness Data_GoogleData/UserSleepStages_2025.csv",
    "Your Profile/Profile.csv": CSV_ONLY / "Your Profile/Profile.csv",
}


def test_csv_files_have_the_fixtures_headers_and_stamp_formats(fitbit_export_csv):
    assert fitbit_export_csv.root.as_posix().endswith("Takeout/Google Health")
    for ours, theirs in CSV_SHAPES.items():
        assert header(fitbit_export_csv.file(ours)) == header(theirs), ours
        with open(fitbit_export_csv.file(ours), newline="") as a, open(theirs, newline="") as b:
            row, model = next(csv.DictReader(a)), next(csv.DictReader(b))
        for column in ("timestamp", "sleep_start", "sleep_stage_start"):
            if column in model:
                assert len(row[column]) == len(model[column]) and row[column][-1] == model[column][-1], column
    hrv = next(f for f, k in fitbit_export_csv.files.items() if k == "hrv")
    assert header(fitbit_export_csv.file(hrv)) == header(next((MIXED / "Heart Rate Variability").glob("*.csv")))
    spo2 = next(f for f, k in fitbit_export_csv.files.items() if k == "spo2")
    assert header(fitbit_export_csv.file(spo2)) == header(next((MIXED / "Oxygen Saturation (SpO2)").glob("Daily*")))
    assert not any(f.endswith(".json") and k in ("heart_rate", "steps", "sleep", "weight")
                   for f, k in fitbit_export_csv.files.items()), "a CSV-only export"


def test_csv_heart_rate_files_are_bounded_by_the_utc_day(fitbit_export_csv, fitbit_health):
    rows = 0
    for name in (f for f, k in fitbit_export_csv.files.items() if k == "heart_rate"):
        with open(fitbit_export_csv.file(name), newline="") as f:
            stamps = [r["timestamp"] for r in csv.DictReader(f)]
        assert {s[:10] for s in stamps} == {name[-14:-4]}
        rows += len(stamps)
    assert rows == fitbit_export_csv.rows["heart_rate"]


def test_a_mixed_export_holds_both_layouts(fitbit_export_both):
    layouts = {f.rsplit("/", 1)[0] for f, k in fitbit_export_both.files.items() if k == "heart_rate"}
    assert layouts == {"Global Export Data", "Physical Activity_GoogleData"}


# ----------------------------------------------------------------------------------- packing --

def test_zip_tgz_and_parts_hold_the_same_files(tmp_path, fitbit_health, fitbit_export_zip, fitbit_export):
    with zipfile.ZipFile(fitbit_export_zip.path) as zf:
        names = {n for n in zf.namelist() if n.startswith(EXPORT_FOLDER.parent.as_posix())}
    expected = {f"Takeout/Fitbit/{f}" for f in fitbit_export.files}
    assert names == expected
    tgz = write_export(fitbit_health, tmp_path / "tgz", as_tgz=True)
    with tarfile.open(tgz.path) as tar:
        assert {m.name for m in tar.getmembers() if m.isfile()} == expected
    parts = write_export(fitbit_health, tmp_path / "parts", parts=3)
    found = set()
    for part in sorted(parts.path.iterdir()):
        assert part.name.startswith("takeout-") and part.suffix == ".zip"
        with zipfile.ZipFile(part) as zf:
            found |= set(zf.namelist())
    assert found == expected

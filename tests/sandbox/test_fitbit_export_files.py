"""The synthetic Fitbit person and the Takeout export written from it: determinism, realism, file shapes."""

from __future__ import annotations

import json
import zipfile
from datetime import date, datetime

import numpy as np

from sandbox.fitbit_data import generate_health
from sandbox.fitbit_export import EXPORT_FOLDER
from sandbox.life import SyntheticLife
from tests.fixtures.fitbit import FITBIT_TEST_LIFE


def test_generation_is_deterministic(fitbit_health):
    again = generate_health(SyntheticLife(FITBIT_TEST_LIFE), heart_rate_interval=60)
    assert again.sleep == fitbit_health.sleep and again.steps == fitbit_health.steps
    day = FITBIT_TEST_LIFE.start
    assert np.array_equal(again.heart_rate(day).bpm, fitbit_health.heart_rate(day).bpm)


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


def test_export_files_look_like_a_takeout(fitbit_export, fitbit_health):
    folder = fitbit_export.folder
    assert folder.as_posix().endswith("Takeout/Fitbit/Global Export Data")
    first_hr = sorted(n for n, k in fitbit_export.files.items() if k == "heart_rate")[0]
    sample = json.loads((folder / first_hr).read_text())[0]
    assert set(sample) == {"dateTime", "value"} and set(sample["value"]) == {"bpm", "confidence"}
    assert datetime.strptime(sample["dateTime"], "%m/%d/%y %H:%M:%S").date() == date.fromisoformat(first_hr[11:21])
    steps = json.loads((folder / f"steps-{FITBIT_TEST_LIFE.start.isoformat()}.json").read_text())
    assert all(isinstance(e["value"], str) for e in steps), "the export writes values as strings"
    sleep = json.loads((folder / f"sleep-{FITBIT_TEST_LIFE.start.isoformat()}.json").read_text())
    assert "mainSleep" in sleep[0] and "isMainSleep" not in sleep[0]
    assert fitbit_export.rows["heart_rate"] == sum(len(fitbit_health.heart_rate(d)) for d in fitbit_health.worn_days)


def test_zip_export_holds_the_same_files(fitbit_export_zip, fitbit_export):
    with zipfile.ZipFile(fitbit_export_zip.path) as zf:
        names = {n for n in zf.namelist() if n.startswith(EXPORT_FOLDER.as_posix())}
    assert {n.rsplit("/", 1)[1] for n in names} == set(fitbit_export.files)

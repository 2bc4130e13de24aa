"""The Fitbit data-export import: counts vs the generator, skip-unchanged, changed files, corrupt files, zip input."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import date

import pytest

from pipelines.common.runner import run_source
from pipelines.fitbit.export import fitbit_export_source, main

TABLES = ("fitbit__sleep", "fitbit__daily_activity", "fitbit__heart_rate_daily",
          "fitbit__heart_rate_intraday", "fitbit__weight")


def load(path):
    return run_source("fitbit_export", lambda: fitbit_export_source(path=str(path)))


def expected_counts(manifest) -> dict[str, int]:
    return {"fitbit__sleep": manifest.rows["sleep"], "fitbit__daily_activity": manifest.rows["steps_days"],
            "fitbit__heart_rate_daily": manifest.rows["resting_heart_rate_days"],
            "fitbit__heart_rate_intraday": manifest.rows["heart_rate"], "fitbit__weight": manifest.rows["weight"]}


def table_counts(warehouse) -> dict[str, int]:
    return {t: warehouse.count(f"raw.{t}") for t in TABLES}


@pytest.mark.parametrize("packed", [False, True], ids=["folder", "zip"])
def test_import_matches_the_generator(request, warehouse, fitbit_health, packed):
    manifest = request.getfixturevalue("fitbit_export_zip" if packed else "fitbit_export")
    report = load(manifest.path)

    assert table_counts(warehouse) == expected_counts(manifest)
    assert report.rows["fitbit__export_files"] == len(manifest.files)
    # daily steps are the per-minute file entries summed per day
    steps = dict(warehouse.query("select activity_date, steps from raw.fitbit__daily_activity"))
    assert steps == fitbit_health.steps
    # sleep keeps stage minutes for stages logs and asleep/restless/awake for classic ones
    log = next(s for s in fitbit_health.sleep if s["type"] == "stages")
    deep, rem, main_sleep = warehouse.query(
        "select deep_minutes, rem_minutes, is_main_sleep from raw.fitbit__sleep where log_id = ?", [log["logId"]])[0]
    assert (deep, rem, main_sleep) == (log["levels"]["summary"]["deep"]["minutes"],
                                       log["levels"]["summary"]["rem"]["minutes"], True)
    classic = sum(s["type"] == "classic" for s in fitbit_health.sleep)
    assert warehouse.scalar("select count(*) from raw.fitbit__sleep where asleep_minutes is not null") == classic
    assert warehouse.scalar("select count(*) from raw.fitbit__sleep where not is_main_sleep") == sum(
        not s["isMainSleep"] for s in fitbit_health.sleep)
    # one heart-rate day: every sample, same bpm total, stored as local wall-clock time
    day = fitbit_health.life.config.start
    samples = fitbit_health.heart_rate(day)
    n, bpm_sum, first = warehouse.query(
        "select count(*), sum(bpm), min(measured_at) from raw.fitbit__heart_rate_intraday where measured_date = ?",
        [day])[0]
    assert (n, bpm_sum) == (len(samples), int(samples.bpm.sum()))
    assert (first.hour, first.minute, first.second) == divmod(int(samples.seconds[0]) // 60, 60) + (
        int(samples.seconds[0]) % 60,)
    # resting heart rate: days the export marks 0 are absent, not zero
    assert warehouse.scalar("select min(resting_heart_rate) from raw.fitbit__heart_rate_daily") > 30


def test_second_import_of_the_same_export_loads_nothing(warehouse, fitbit_export):
    load(fitbit_export.path)
    before = table_counts(warehouse)
    second = load(fitbit_export.path)
    assert second.total_rows == 0
    assert table_counts(warehouse) == before


def test_skip_survives_losing_the_local_dlt_state(warehouse, fitbit_export, tmp_path):
    """An ephemeral runner has no local pipeline folder: the hashes come back from the destination."""
    load(fitbit_export.path)
    shutil.rmtree(tmp_path / "dlt_pipelines")
    assert load(fitbit_export.path).total_rows == 0


def test_a_changed_file_is_reimported_and_updates_rows(warehouse, fitbit_export, fitbit_health):
    load(fitbit_export.path)
    before = table_counts(warehouse)
    # a late sync adds steps to the first day, and a heart-rate day is re-exported with other values
    day = fitbit_health.life.config.start
    steps_file = fitbit_export.folder / f"steps-{day.replace(day=1).isoformat()}.json"
    entries = json.loads(steps_file.read_text())
    first_day = [e for e in entries if e["dateTime"].startswith(day.strftime("%m/%d/%y"))]
    first_day[0]["value"] = str(int(first_day[0]["value"]) + 500)
    steps_file.write_text(json.dumps(entries))
    hr_day = next(d for d in fitbit_health.life.dates() if d in fitbit_health.worn_days)
    hr_file = fitbit_export.folder / f"heart_rate-{hr_day.isoformat()}.json"
    samples = json.loads(hr_file.read_text())
    for s in samples:
        s["value"]["bpm"] += 1
    hr_file.write_text(json.dumps(samples))

    report = load(fitbit_export.path)

    assert report.rows["fitbit__export_files"] == 2
    assert report.rows["fitbit__heart_rate_intraday"] == len(samples)
    assert table_counts(warehouse) == before
    assert warehouse.scalar("select steps from raw.fitbit__daily_activity where activity_date = ?",
                            [day]) == fitbit_health.steps[day] + 500
    assert warehouse.scalar("select sum(bpm) from raw.fitbit__heart_rate_intraday where measured_date = ?",
                            [hr_day]) == int(fitbit_health.heart_rate(hr_day).bpm.sum()) + len(samples)


def test_corrupt_files_are_reported_by_name_and_the_rest_loads(warehouse, fitbit_export, fitbit_health, capsys):
    hr_files = sorted(n for n, k in fitbit_export.files.items() if k == "heart_rate")
    broken_hr, broken_sleep = hr_files[3], next(n for n, k in fitbit_export.files.items() if k == "sleep")
    text = (fitbit_export.folder / broken_hr).read_text()
    (fitbit_export.folder / broken_hr).write_text(text[: len(text) // 2])  # a download cut off mid-file
    (fitbit_export.folder / broken_sleep).write_text('[{"logId": "not a sleep log"')

    assert main(["--path", str(fitbit_export.path)]) == 0
    err = capsys.readouterr().err
    assert "2 corrupt skipped" in err
    assert broken_hr in err and broken_sleep in err

    # everything but the two broken files loaded: the expected counts minus what those files held
    lost_hr = len(fitbit_health.heart_rate(date.fromisoformat(broken_hr[len("heart_rate-"):-len(".json")])))
    lost_sleep = Counter(s["dateOfSleep"][:7] for s in fitbit_health.sleep)[broken_sleep[len("sleep-"):][:7]]
    expected = expected_counts(fitbit_export)
    expected["fitbit__heart_rate_intraday"] -= lost_hr
    expected["fitbit__sleep"] -= lost_sleep
    assert table_counts(warehouse) == expected
    status = dict(warehouse.query("select file_name, status from raw.fitbit__export_files"))
    assert status[broken_hr] == status[broken_sleep] == "corrupt"
    assert Counter(status.values()) == {"imported": len(fitbit_export.files) - 2, "corrupt": 2}

    # once repaired (re-downloaded), the next run picks exactly those files up
    (fitbit_export.folder / broken_hr).write_text(text)
    repaired = load(fitbit_export.path)
    assert repaired.rows["fitbit__heart_rate_intraday"] == lost_hr


def test_cli_names_a_missing_export_in_one_line(warehouse, tmp_path, capsys):
    assert main(["--path", str(tmp_path / "nowhere.zip")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Fitbit export not found" in err[0]


def test_full_refresh_reads_every_file_again_without_duplicates(warehouse, fitbit_export, capsys):
    assert main(["--path", str(fitbit_export.path)]) == 0
    assert main([f"--path={fitbit_export.path}", "--full-refresh"]) == 0
    out = capsys.readouterr()
    assert "full refresh (--full-refresh given)" in out.out
    file_logs = [line for line in out.err.splitlines() if "] files:" in line]
    assert f"{len(fitbit_export.files)} new or changed imported" in file_logs[1]
    assert table_counts(warehouse) == expected_counts(fitbit_export)

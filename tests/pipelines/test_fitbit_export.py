"""The Fitbit / Google Takeout export import, against the synthetic export (counts vs the generator) and the
contract fixtures in tests/fixtures/takeout (shapes of real exports).

Issue 12: table ownership (0), rows owned by their file (1), time zone (2), units (3), the CSV layout (4), the
file report (5); issue 14: one bad record never blocks the import (2), file-level robustness (5)."""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import dlt
import duckdb
import pytest

from pipelines.common.runner import run_source
from pipelines.fitbit.export import fitbit_export_source, main
from pipelines.fitbit.export.legacy import LEGACY_TABLES

TABLES = ("fitbit_export__sleep", "fitbit_export__steps", "fitbit_export__resting_heart_rate",
          "fitbit_export__heart_rate", "fitbit_export__weight", "fitbit_export__hrv", "fitbit_export__spo2")
HR_JSON = "Global Export Data/heart_rate-{}.json"


pytestmark = pytest.mark.usefixtures("ledger_off")  # what the import loads; one test below reads the ledger


def load(path, **kwargs):
    return run_source("fitbit_export", lambda: fitbit_export_source(path=str(path), **kwargs))


def expected_counts(manifest) -> dict[str, int]:
    return {"fitbit_export__sleep": manifest.rows["sleep"], "fitbit_export__steps": manifest.rows["steps_minutes"],
            "fitbit_export__resting_heart_rate": manifest.rows["resting_heart_rate_days"],
            "fitbit_export__heart_rate": manifest.rows["heart_rate"], "fitbit_export__weight": manifest.rows["weight"],
            "fitbit_export__hrv": manifest.rows["hrv_days"], "fitbit_export__spo2": manifest.rows["spo2_days"]}


def table_counts(warehouse, distinct: bool = False) -> dict[str, int]:
    """Rows per raw table; `distinct` counts each sample once (overlapping steps files hold some twice)."""
    keys = {"fitbit_export__steps": "start_at_utc", "fitbit_export__heart_rate": "sample_at_utc"}
    return {t: warehouse.scalar(f"select count(distinct {keys[t]}) from raw.{t}") if distinct and t in keys
            else warehouse.count(f"raw.{t}") for t in TABLES}


def rejected(warehouse) -> list[tuple]:
    return warehouse.query("select entity, reason, origin, record_key from raw.fitbit_export__rejected order by 1, 2")


def local_day_counts(warehouse) -> dict[date, int]:
    return dict(warehouse.query("select sample_date, count(*) from raw.fitbit_export__heart_rate group by 1"))


def generator_hr_days(health) -> dict[date, int]:
    return {d: len(health.heart_rate(d)) for d in health.worn_days}


# ---------------------------------------------------------------------------------- the synthetic export --

@pytest.mark.parametrize("packed", ["folder", "zip", "tgz", "parts"])
def test_import_matches_the_generator(request, tmp_path, warehouse, fitbit_health, packed):
    from sandbox.fitbit_export import write_export

    if packed == "folder":
        manifest = request.getfixturevalue("fitbit_export")
    else:
        manifest = write_export(fitbit_health, tmp_path / packed, as_zip=packed == "zip", as_tgz=packed == "tgz",
                                parts=3 if packed == "parts" else 1)
    report = load(manifest.path)

    # overlapping steps files hold some minutes twice: each file keeps its rows, each minute counts once
    assert table_counts(warehouse, distinct=True) == expected_counts(manifest)
    assert report.rows["fitbit_export__files"] == len(manifest.files)
    steps = dict(warehouse.query("select activity_date, sum(steps) from (select distinct start_at_utc, activity_date,"
                                 " steps from raw.fitbit_export__steps) group by 1"))
    assert steps == fitbit_health.steps
    log = next(s for s in fitbit_health.sleep if s["type"] == "stages")
    deep, rem, main_sleep = warehouse.query(
        "select deep_minutes, rem_minutes, is_main_sleep from raw.fitbit_export__sleep where log_id = ?",
        [log["logId"]])[0]
    assert (deep, rem, main_sleep) == (log["levels"]["summary"]["deep"]["minutes"],
                                       log["levels"]["summary"]["rem"]["minutes"], True)
    assert local_day_counts(warehouse) == generator_hr_days(fitbit_health)
    assert warehouse.scalar("select min(resting_bpm) from raw.fitbit_export__resting_heart_rate") > 30


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


def test_cli_names_a_missing_export_in_one_line(warehouse, tmp_path, capsys):
    assert main(["--path", str(tmp_path / "nowhere.zip")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Fitbit export not found" in err[0]



def test_an_unset_path_is_named_as_unset_not_read_from_the_shell_path(warehouse, capsys, monkeypatch):
    """dlt answers an unset sources.fitbit_export.path with the environment's PATH (its bare-key fallback): the
    import used to scan every bin folder and fail with a list of 1,400 programs."""
    monkeypatch.delenv("SOURCES__FITBIT_EXPORT__PATH", raising=False)
    assert main([]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no Fitbit export given" in err[0] and "[sources.fitbit_export]" in err[0]
    assert "/bin" not in err[0]

def test_full_refresh_reads_every_file_again_without_duplicates(warehouse, fitbit_export, capsys):
    assert main(["--path", str(fitbit_export.path)]) == 0
    assert main([f"--path={fitbit_export.path}", "--full-refresh"]) == 0
    out = capsys.readouterr()
    assert "full refresh (--full-refresh given)" in out.out
    file_logs = [line for line in out.err.splitlines() if "] files:" in line]
    data_files = sum(k not in ("profile", "distance", "Devices") for k in fitbit_export.files.values())
    assert f"data files: {data_files} new or changed imported" in file_logs[1]
    assert table_counts(warehouse, distinct=True) == expected_counts(fitbit_export)


# ------------------------------------------------------------------------------ 0: who owns a raw table --

def _legacy_warehouse() -> None:
    """What an older version of both pipelines left: the shared fitbit__* tables, listed in the dlt schemas of the
    pipelines 'fitbit_export' and 'fitbit'."""
    from pipelines.common.settings import make_pipeline

    for name in ("fitbit_export", "fitbit"):
        rows = {t: [{"log_id": 1, "origin": name, "activity_date": date(2024, 1, 1)}] for t in LEGACY_TABLES}
        pipeline = make_pipeline(name)
        pipeline.run([dlt.resource(r, name=t, write_disposition="merge", primary_key="log_id")
                      for t, r in rows.items()])


def test_export_writes_only_its_own_tables_and_a_full_refresh_keeps_legacy_ones(warehouse, fitbit_export, tmp_path):
    _legacy_warehouse()
    legacy_rows = {t: warehouse.count(f"raw.{t}") for t in LEGACY_TABLES}
    assert load(fitbit_export.path).total_rows > 0
    written = {t for (t,) in warehouse.query("select table_name from information_schema.tables "
                                             "where table_schema = 'raw'")}
    assert {t for t in written if t.startswith("fitbit_export__")} >= set(TABLES)
    assert {t for t in written if not t.startswith(("fitbit_export__", "_dlt"))} == set(LEGACY_TABLES)

    # a full refresh, on this machine and on an ephemeral runner (no local dlt state), drops only its own tables
    for lose_local_state in (False, True):
        if lose_local_state:
            shutil.rmtree(tmp_path / "dlt_pipelines")
        assert main(["--path", str(fitbit_export.path), "--full-refresh"]) == 0
        assert {t: warehouse.count(f"raw.{t}") for t in LEGACY_TABLES} == legacy_rows
        assert table_counts(warehouse, distinct=True) == expected_counts(fitbit_export)


# ------------------------------------------------------------------- 1: rows are owned by their file --

def test_a_changed_file_replaces_only_its_own_rows(warehouse, takeout_fixture):
    """Heart-rate files straddle midnight and steps files overlap: changing one file must not cut the days it
    shares with its neighbours."""
    export = takeout_fixture("mixed")
    load(export)
    hr_days = local_day_counts(warehouse)
    utc_days = dict(warehouse.query("select cast(timezone('UTC', sample_at_utc) as date), count(*) "
                                    "from raw.fitbit_export__heart_rate group by 1"))
    steps_before = dict(warehouse.query("select source_file, count(*) from raw.fitbit_export__steps group by 1"))

    hr_file = export / "Takeout/Fitbit" / HR_JSON.format("2023-01-27")
    samples = json.loads(hr_file.read_text())
    samples[0]["value"]["bpm"] += 10
    hr_file.write_text(json.dumps(samples))
    steps_file = export / "Takeout/Fitbit/Global Export Data/steps-2023-02-26.json"
    entries = json.loads(steps_file.read_text())
    entries[-1]["value"] = "17"  # a late sync
    steps_file.write_text(json.dumps(entries))
    report = load(export)

    assert report.rows["fitbit_export__heart_rate"] == len(samples)
    assert local_day_counts(warehouse) == hr_days  # every local day keeps all its samples
    assert dict(warehouse.query("select cast(timezone('UTC', sample_at_utc) as date), count(*) "
                                "from raw.fitbit_export__heart_rate group by 1")) == utc_days
    assert warehouse.scalar("select bpm from raw.fitbit_export__heart_rate where sample_at_local = ?",
                            [datetime(2023, 1, 27, 0, 0, 2)]) == 66
    assert dict(warehouse.query("select source_file, count(*) from raw.fitbit_export__steps group by 1")) == \
        steps_before
    assert warehouse.scalar("select steps from raw.fitbit_export__steps where activity_date = '2023-03-24'") == 17
    # the overlapping minutes stay in both files' rows (staging counts them once)
    assert warehouse.scalar("select count(*) from raw.fitbit_export__steps where activity_date = '2023-02-26'") == 4


def test_a_changed_heart_rate_day_keeps_every_neighbouring_sample(warehouse, fitbit_export, fitbit_health):
    load(fitbit_export.path)
    day = sorted(fitbit_health.worn_days)[5]
    hr_file = fitbit_export.file(HR_JSON.format(day.isoformat()))
    samples = json.loads(hr_file.read_text())
    for s in samples:
        s["value"]["bpm"] += 1
    hr_file.write_text(json.dumps(samples))
    load(fitbit_export.path)
    assert local_day_counts(warehouse) == generator_hr_days(fitbit_health)
    assert warehouse.scalar("select sum(bpm) from raw.fitbit_export__heart_rate where sample_date = ?", [day]) == \
        int(fitbit_health.heart_rate(day).bpm.sum()) + len(samples)


# --------------------------------------------------------------------------------------- 2: time zone --

def test_times_are_stored_as_instant_local_time_offset_and_local_date(warehouse, takeout_fixture, capsys):
    export = takeout_fixture("mixed")
    assert main(["--path", str(export)]) == 0
    err = capsys.readouterr().err
    assert "time zone: Australia/Sydney (from the export's Your Profile/Profile.csv)" in err
    # every table's key columns are marked non-nullable as dlt's hints are: no hint-mismatch warning in the log
    assert "column hints were different" not in err
    # the JSON intraday stamp 01/25/23 13:00:07 is UTC; Sydney is UTC+11 in January
    at_utc, at_local, offset, day = warehouse.query(
        "select sample_at_utc, sample_at_local, utc_offset_minutes, sample_date from raw.fitbit_export__heart_rate "
        "order by sample_at_utc limit 1")[0]
    assert at_utc == datetime(2023, 1, 25, 13, 0, 7, tzinfo=UTC)
    assert (at_local, offset, day) == (datetime(2023, 1, 26, 0, 0, 7), 660, date(2023, 1, 26))
    # sleep times are local wall time: the instant is derived (AEDT +11 in March)
    start_utc, start_local, sleep_date = warehouse.query(
        "select start_at_utc, start_at_local, sleep_date from raw.fitbit_export__sleep where log_id = 44940631937")[0]
    assert start_utc == datetime(2024, 3, 20, 11, 4, tzinfo=UTC)
    assert (start_local, sleep_date) == (datetime(2024, 3, 20, 22, 4), date(2024, 3, 21))
    assert warehouse.scalar("select distinct timezone from raw.fitbit_export__files") == "Australia/Sydney"


def test_the_time_zone_can_be_configured_and_the_log_says_so(warehouse, takeout_fixture, capsys, monkeypatch):
    export = takeout_fixture("mixed")
    (export / "Takeout/Fitbit/Your Profile/Profile.csv").unlink()
    monkeypatch.setenv("SOURCES__FITBIT_EXPORT__TIMEZONE", "Europe/Berlin")
    assert main(["--path", str(export)]) == 0
    assert "time zone: Europe/Berlin (from --timezone / sources.fitbit_export.timezone)" in capsys.readouterr().err
    assert warehouse.scalar("select min(utc_offset_minutes) from raw.fitbit_export__heart_rate "
                            "where sample_date < '2024-01-01'") == 60
    assert main(["--path", str(export), "--timezone", "Bogus/Zone"]) == 1
    assert "unknown time zone 'Bogus/Zone'" in capsys.readouterr().err


def test_the_sandbox_writes_utc_stamps_in_files_bounded_by_the_local_day(fitbit_export, fitbit_health):
    day = sorted(fitbit_health.worn_days)[3]
    samples = json.loads(fitbit_export.file(HR_JSON.format(day.isoformat())).read_text())
    stamps = [datetime.strptime(s["dateTime"], "%m/%d/%y %H:%M:%S") for s in samples]
    offset = timedelta(minutes=fitbit_health.utc_offset_minutes(datetime.combine(day, datetime.min.time())))
    assert {(s + offset).date() for s in stamps} == {day}  # bounded by the local day ...
    assert len({s.date() for s in stamps}) == 2  # ... so it straddles UTC midnight


# ------------------------------------------------------------------------------------------- 3: units --

def test_a_pound_account_keeps_its_value_and_unit_in_raw(warehouse, takeout_fixture):
    load(takeout_fixture("mixed"))
    assert warehouse.query("select weight_value, weight_unit, weight_unit_source from raw.fitbit_export__weight") == [
        (198.1, "lb", "the export's profile (weight_unit en_US)")]


def test_without_a_profile_the_unit_is_told_from_bmi_or_the_record_is_rejected(warehouse, takeout_fixture,
                                                                                monkeypatch):
    monkeypatch.setenv("FITBIT_EXPORT_REJECTED_THRESHOLD", "0.5")  # 1 of 2 weigh-ins: over the default 1 %
    export = takeout_fixture("mixed")
    (export / "Takeout/Fitbit/Your Profile/Profile.csv").unlink()
    weight_file = export / "Takeout/Fitbit/Global Export Data/weight-2025-09-12.json"
    records = json.loads(weight_file.read_text())
    records.append({**records[0], "logId": 1757668406001, "bmi": None})  # no BMI: the unit cannot be told
    weight_file.write_text(json.dumps(records))
    report = load(export)
    assert warehouse.query("select log_id, weight_unit, weight_unit_source from raw.fitbit_export__weight") == [
        (1757668406000, "lb", "bmi")]
    assert report.rejected == {"weight": 1}
    ((entity, reason, origin, key),) = rejected(warehouse)
    assert (entity, origin, key) == ("weight", "Global Export Data/weight-2025-09-12.json", "1757668406001")
    assert reason.startswith("weight unit unknown")


def test_the_weight_unit_can_be_configured(warehouse, takeout_fixture, monkeypatch):
    monkeypatch.setenv("SOURCES__FITBIT_EXPORT__WEIGHT_UNIT", "kg")
    load(takeout_fixture("mixed"))
    assert warehouse.query("select weight_unit, weight_unit_source from raw.fitbit_export__weight") == [
        ("kg", "--weight-unit / sources.fitbit_export.weight_unit")]


def test_the_sandbox_pound_account_converts_back_to_the_generators_kilograms(warehouse, fitbit_export_lb,
                                                                              fitbit_health):
    load(fitbit_export_lb.path)
    rows = warehouse.query("select log_id, weight_value * 0.45359237, weight_unit from raw.fitbit_export__weight")
    truth = {w["logId"]: w["weight"] for w in fitbit_health.weight}
    assert {unit for _, _, unit in rows} == {"lb"}
    assert {log_id: pytest.approx(kg, abs=0.05) for log_id, kg, _ in rows} == truth


# -------------------------------------------------------------------------------- 4: the CSV layout --

def test_a_csv_only_export_loads(warehouse, takeout_fixture, capsys):
    assert main(["--path", str(takeout_fixture("csv_only"))]) == 0
    assert "time zone: Asia/Shanghai" in capsys.readouterr().err
    counts = {t: warehouse.count(f"raw.{t}") for t in ("fitbit_export__heart_rate", "fitbit_export__steps",
                                                       "fitbit_export__weight", "fitbit_export__resting_heart_rate",
                                                       "fitbit_export__sleep", "fitbit_export__sleep_stages",
                                                       "fitbit_export__sleep_score")}
    assert counts == {"fitbit_export__heart_rate": 7, "fitbit_export__steps": 2, "fitbit_export__weight": 1,
                      "fitbit_export__resting_heart_rate": 2, "fitbit_export__sleep": 1,
                      "fitbit_export__sleep_stages": 5, "fitbit_export__sleep_score": 1}
    assert warehouse.query("select weight_value, weight_unit from raw.fitbit_export__weight") == [(81300.0, "g")]
    # UserSleeps: UTC times with the file's own offset (+08:00); the local wake-up date
    assert warehouse.query("select start_at_local, end_at_local, utc_offset_minutes, sleep_date, sleep_type "
                           "from raw.fitbit_export__sleep") == [
        (datetime(2025, 12, 3, 22, 12, 30), datetime(2025, 12, 4, 6, 12, 30), 480, date(2025, 12, 4), "stages")]


@pytest.mark.parametrize("layout", ["csv", "both"])
def test_the_csv_layout_and_a_mixed_export_match_the_generator(request, warehouse, fitbit_health, layout):
    manifest = request.getfixturevalue(f"fitbit_export_{layout}")
    load(manifest.path)
    # twins are loaded once: no sample twice, none missing
    assert local_day_counts(warehouse) == generator_hr_days(fitbit_health)
    assert warehouse.scalar("select count(*) - count(distinct sample_at_utc) from raw.fitbit_export__heart_rate") \
        <= (0 if layout == "csv" else 2 * len(generator_hr_days(fitbit_health)))
    assert warehouse.count("raw.fitbit_export__sleep") == len(fitbit_health.sleep)
    assert warehouse.count("raw.fitbit_export__weight") == len(fitbit_health.weight)
    status = Counter(s for (s,) in warehouse.query("select status from raw.fitbit_export__files"))
    if layout == "both":
        assert status["twin_skipped"] > 50  # JSON heart-rate days, steps, weight, resting heart rate, sleep
    by_file = warehouse.query("select source_file from raw.fitbit_export__heart_rate group by 1")
    assert all(f.endswith(".csv") for (f,) in by_file) or layout == "both"


def test_a_mixed_export_reads_one_of_two_twins(warehouse, takeout_fixture):
    load(takeout_fixture("mixed"))
    status = dict(warehouse.query("select source_file, status from raw.fitbit_export__files"))
    assert status[HR_JSON.format("2024-10-27")] == "twin_skipped"
    # local 2024-10-27 (UTC+11): the CSV files of UTC days 10-26 and 10-27 hold it, each sample once
    assert local_day_counts(warehouse)[date(2024, 10, 27)] == 4
    assert warehouse.scalar("select count(*) from raw.fitbit_export__heart_rate where source_file like '%.json' "
                            "and sample_date = '2024-10-27'") == 0



def test_a_json_file_that_becomes_a_csv_twin_gives_up_its_rows(warehouse, takeout_fixture):
    """A later export adds the CSV layout: the JSON day's rows go, the CSV files' rows come, each sample once."""
    export = takeout_fixture("mixed")
    csv_folder = export / "Takeout/Fitbit/Physical Activity_GoogleData"
    kept = {p.name: p.read_bytes() for p in csv_folder.glob("heart_rate_*.csv")}
    for name in kept:
        (csv_folder / name).unlink()
    load(export)
    assert warehouse.scalar("select count(*) from raw.fitbit_export__heart_rate where source_file = ?",
                            [HR_JSON.format("2024-10-27")]) == 4
    for name, data in kept.items():
        (csv_folder / name).write_bytes(data)
    load(export)
    assert warehouse.scalar("select count(*) from raw.fitbit_export__heart_rate where source_file = ?",
                            [HR_JSON.format("2024-10-27")]) == 0
    assert local_day_counts(warehouse)[date(2024, 10, 27)] == 4


def test_a_file_that_turns_corrupt_keeps_its_last_good_rows(warehouse, fitbit_export, fitbit_health):
    load(fitbit_export.path)
    day = sorted(fitbit_health.worn_days)[7]
    hr_file = fitbit_export.file(HR_JSON.format(day.isoformat()))
    hr_file.write_text(hr_file.read_text()[:100])  # a re-download cut off
    load(fitbit_export.path)
    assert local_day_counts(warehouse)[day] == len(fitbit_health.heart_rate(day))

# ------------------------------------------------------------------------- 5: saying what was not read --

def test_files_not_read_are_counted_by_kind_in_the_log_the_file_report_and_the_ledger(warehouse, takeout_fixture,
                                                                                       capsys, monkeypatch):
    monkeypatch.setenv("RUN_LEDGER", "on")
    assert main(["--path", str(takeout_fixture("mixed"))]) == 0
    err = capsys.readouterr().err
    assert ("ignored: 5 files of 5 kinds (distance 1, time_in_heart_rate_zones 1, "
            "Minute SpO2 1, Devices 1, Sleep Profile 1)") in err
    assert "1 JSON twins of CSV files skipped" in err
    statuses = Counter(s for (s,) in warehouse.query("select status from raw.fitbit_export__files"))
    assert statuses == {"imported": 14, "ignored": 5, "twin_skipped": 1, "read": 1}
    rows = json.loads(warehouse.scalar("select rows_per_table from ops.pipeline_runs"))
    assert rows["fitbit_export__files"] == 21


def test_an_export_with_no_recognised_data_file_fails_with_the_list(warehouse, tmp_path, capsys):
    folder = tmp_path / "export" / "Takeout" / "Fitbit" / "Global Export Data"
    folder.mkdir(parents=True)
    for name in ("altitude-2023-01-01.json", "altitude-2023-02-01.json", "distance-2023-01-01.json"):
        (folder / name).write_text("[]")
    assert main(["--path", str(tmp_path / "export")]) == 1
    err = capsys.readouterr().err.strip()
    assert "no Fitbit data file recognised" in err and "3 files of 2 kinds (altitude 2, distance 1)" in err


def test_split_export_parts_can_be_given_one_by_one(warehouse, tmp_path, fitbit_health):
    from sandbox.fitbit_export import write_export

    manifest = write_export(fitbit_health, tmp_path / "split", parts=2)
    parts = sorted(manifest.path.iterdir())
    assert main([arg for p in parts for arg in ("--path", str(p))]) == 0
    assert table_counts(warehouse, distinct=True) == expected_counts(manifest)


# ------------------------------------------------------------ issue 14: one bad record, robust files --

def test_a_weigh_in_without_log_id_is_rejected_and_every_other_file_loads(warehouse, fitbit_export, fitbit_health,
                                                                           monkeypatch):
    monkeypatch.setenv("FITBIT_EXPORT_REJECTED_THRESHOLD", "0.1")  # 1 of ~20 weigh-ins: over the default 1 %
    weight_file = fitbit_export.file(next(f for f, k in fitbit_export.files.items() if k == "weight"))
    records = json.loads(weight_file.read_text())
    del records[0]["logId"]
    weight_file.write_text(json.dumps(records))
    report = load(fitbit_export.path)
    assert report.rejected == {"weight": 1}
    assert warehouse.count("raw.fitbit_export__weight") == len(fitbit_health.weight) - 1
    assert warehouse.count("raw.fitbit_export__heart_rate") == fitbit_export.rows["heart_rate"]
    ((entity, reason, origin, _),) = rejected(warehouse)
    assert (entity, reason, origin) == ("weight", "weigh-in without logId", weight_file.relative_to(
        fitbit_export.root).as_posix())


def test_an_unparseable_stamp_and_a_zero_heart_rate_are_rejected_not_the_file(warehouse, fitbit_export,
                                                                              fitbit_health):
    day = sorted(fitbit_health.worn_days)[2]
    hr_file = fitbit_export.file(HR_JSON.format(day.isoformat()))
    samples = json.loads(hr_file.read_text())
    samples[10]["dateTime"] = "13/45/25 99:00:00"
    samples[20]["value"]["bpm"] = 0
    del samples[30]["value"]["bpm"]
    hr_file.write_text(json.dumps(samples))
    report = load(fitbit_export.path)
    assert report.rejected == {"heart_rate": 3}
    assert local_day_counts(warehouse)[day] == len(samples) - 3
    reasons = Counter(reason for _, reason, _, _ in rejected(warehouse))
    assert reasons == {"unparseable timestamp": 1, "heart rate absent or 0": 2}
    assert {origin for _, _, origin, _ in rejected(warehouse)} == {f"Global Export Data/{hr_file.name}"}


def test_an_empty_file_is_rejected_with_a_reason_and_not_recorded_as_imported(warehouse, fitbit_export, capsys):
    name = next(f for f, k in fitbit_export.files.items() if k == "weight")
    fitbit_export.file(name).write_bytes(b"")
    # one rejection among ~20 weigh-ins is over the default threshold (1 %): the run fails, saying why,
    # after everything else has loaded
    assert main(["--path", str(fitbit_export.path)]) == 1
    assert "too many rejected records (weight: 1 of" in capsys.readouterr().err
    assert warehouse.count("raw.fitbit_export__heart_rate") == fitbit_export.rows["heart_rate"]
    assert rejected(warehouse) == [("weight", "empty file (0 bytes)", name, name)]
    assert warehouse.scalar("select status from raw.fitbit_export__files where source_file = ?", [name]) == "empty"


def test_a_directory_named_like_a_data_file_is_ignored(warehouse, fitbit_export):
    (fitbit_export.folder / "heart_rate-2030-01-01.json").mkdir()
    (fitbit_export.folder / "heart_rate-2030-01-01.json" / "notes.txt").write_text("not data")
    report = load(fitbit_export.path)
    assert report.rows["fitbit_export__heart_rate"] == fitbit_export.rows["heart_rate"]


def test_zip_members_are_hashed_in_chunks(warehouse, fitbit_export_zip, monkeypatch):
    reads = []
    original = zipfile.ZipExtFile.read

    def tracking_read(self, n=-1):
        reads.append(n)
        return original(self, n)

    monkeypatch.setattr(zipfile.ZipExtFile, "read", tracking_read)
    load(fitbit_export_zip.path)
    assert reads and all(0 < n <= 1 << 20 for n in reads), "never a whole member in memory"


def one_bpm_changed(data: bytes) -> bytes:
    """The first sample's bpm with another last digit: the same size, other bytes."""
    m = re.search(rb'"bpm"\s*:\s*\d*(\d)', data)
    digit = b"1" if m.group(1) != b"1" else b"2"
    return data[:m.start(1)] + digit + data[m.end(1):]


def hashed_files(monkeypatch) -> list[str]:
    """The members ExportPart.hash reads from now on (the file names)."""
    from pipelines.fitbit.export.files import ExportPart

    hashed: list[str] = []
    original = ExportPart.hash

    def tracking_hash(self, member):
        hashed.append(member.rsplit("/", 1)[-1])
        return original(self, member)

    monkeypatch.setattr(ExportPart, "hash", tracking_hash)
    return hashed


@pytest.mark.parametrize("packed", ["folder", "zip"])
def test_unchanged_files_are_skipped_unread_and_a_changed_one_of_the_same_size_is_read(
        request, warehouse, monkeypatch, packed):
    """Issue 16: the fingerprint (zip CRC-32, folder mtime+ctime) and size of an unchanged file equal the recorded
    ones, so its recorded hash is taken without reading it; a file changed in place keeps its size but not its
    fingerprint, so it is hashed and read again."""
    manifest = request.getfixturevalue("fitbit_export_zip" if packed == "zip" else "fitbit_export")
    load(manifest.path)
    recorded = dict(warehouse.query("select source_file, content_hash from raw.fitbit_export__files "
                                    "where status = 'imported'"))
    hashed = hashed_files(monkeypatch)
    assert load(manifest.path).total_rows == 0
    assert hashed == [], "an unchanged file was read to hash it"

    name = sorted(n for n in recorded if n.startswith("Global Export Data/heart_rate-"))[3]
    if packed == "zip":
        with zipfile.ZipFile(manifest.path) as z:
            members = {i.filename: z.read(i.filename) for i in z.infolist() if not i.is_dir()}
        member = next(m for m in members if m.endswith(name))
        members[member] = one_bpm_changed(members[member])
        with zipfile.ZipFile(manifest.path, "w", zipfile.ZIP_DEFLATED) as z:
            for m, data in members.items():
                z.writestr(m, data)
    else:
        path = manifest.file(name)
        data = path.read_bytes()
        path.write_bytes(one_bpm_changed(data))
        assert path.stat().st_size == len(data)
    report = load(manifest.path)
    assert hashed == [name.rsplit("/", 1)[-1]], "only the changed file is hashed"
    assert report.rows["fitbit_export__heart_rate"] > 0
    after = dict(warehouse.query("select source_file, content_hash from raw.fitbit_export__files "
                                 "where status = 'imported'"))
    assert after[name] != recorded[name] and {k: v for k, v in after.items() if k != name} == \
        {k: v for k, v in recorded.items() if k != name}
    assert warehouse.scalar("select count(distinct file_hash) from raw.fitbit_export__heart_rate "
                            "where source_file = ?", [name]) == 1


def test_files_recorded_without_fingerprints_are_hashed_once_more_then_skipped_unread(warehouse, fitbit_export,
                                                                                      monkeypatch):
    """Rows of the files table written before fingerprints (null there): the hashes still decide, once."""
    load(fitbit_export.path)
    counted = warehouse.query("select source_file, status, records, rejected_records, no_data_records "
                              "from raw.fitbit_export__files order by 1")
    con = duckdb.connect(str(warehouse.path))
    try:
        con.execute("update raw.fitbit_export__files set fingerprint = null")
    finally:
        con.close()
    hashed = hashed_files(monkeypatch)
    before = table_counts(warehouse)
    report = load(fitbit_export.path)
    assert set(report.rows) == {"fitbit_export__files"}, "no data row read again: the hashes are unchanged"
    assert table_counts(warehouse) == before
    assert hashed, "without recorded fingerprints every file is hashed"
    assert warehouse.scalar("select count(*) from raw.fitbit_export__files where fingerprint is null "
                            "and status = 'imported'") == 0, "the fingerprints are recorded now"
    assert warehouse.query("select source_file, status, records, rejected_records, no_data_records "
                           "from raw.fitbit_export__files order by 1") == counted, "what the last read counted stays"
    hashed.clear()
    assert load(fitbit_export.path).total_rows == 0
    assert hashed == []


def test_a_truncated_zip_says_so(warehouse, fitbit_export_zip, capsys):
    data = fitbit_export_zip.path.read_bytes()
    fitbit_export_zip.path.write_bytes(data[: len(data) // 2])  # a download cut off
    assert main(["--path", str(fitbit_export_zip.path)]) == 1
    assert f"the zip is truncated or corrupt: {fitbit_export_zip.path}" in capsys.readouterr().err


def test_corrupt_files_are_reported_by_name_and_the_rest_loads(warehouse, fitbit_export, fitbit_health, capsys):
    hr_files = sorted(n for n, k in fitbit_export.files.items() if k == "heart_rate")
    broken_hr = hr_files[3]
    broken_sleep = next(n for n, k in fitbit_export.files.items() if k == "sleep")
    text = fitbit_export.file(broken_hr).read_text()
    fitbit_export.file(broken_hr).write_text(text[: len(text) // 2])  # a download cut off mid-file
    fitbit_export.file(broken_sleep).write_text('[{"logId": "not a sleep log"')

    assert main(["--path", str(fitbit_export.path)]) == 0
    err = capsys.readouterr().err
    assert "2 corrupt skipped" in err
    assert broken_hr in err and broken_sleep in err
    lost_day = date.fromisoformat(broken_hr[-15:-5])
    expected = generator_hr_days(fitbit_health)
    del expected[lost_day]
    assert local_day_counts(warehouse) == expected
    status = dict(warehouse.query("select source_file, status from raw.fitbit_export__files"))
    assert status[broken_hr] == status[broken_sleep] == "corrupt"

    # once repaired (re-downloaded), the next run picks exactly that file up
    fitbit_export.file(broken_hr).write_text(text)
    repaired = load(fitbit_export.path)
    assert repaired.rows["fitbit_export__heart_rate"] == len(fitbit_health.heart_rate(lost_day))


# ------------------------------------------------------------------------------------- time-zone maths --

def test_zone_clock_matches_zoneinfo_across_dst_changes():
    from zoneinfo import ZoneInfo

    import numpy as np

    from pipelines.fitbit.export.profile import ZoneClock

    clock, zone = ZoneClock("Europe/Berlin"), ZoneInfo("Europe/Berlin")
    start = datetime(2025, 3, 29, tzinfo=UTC)
    instants = [start + timedelta(minutes=17 * i) for i in range(5000)]  # over the spring change
    instants += [datetime(2025, 10, 25, tzinfo=UTC) + timedelta(minutes=13 * i) for i in range(400)]  # autumn
    us = np.array([int(t.timestamp() * 1_000_000) for t in instants], dtype=np.int64)
    local_us, offsets = clock.utc_to_local(us)
    for t, lu, off in zip(instants, local_us, offsets, strict=True):
        wall = t.astimezone(zone)
        assert off == wall.utcoffset() / timedelta(minutes=1)
        assert datetime(1970, 1, 1) + timedelta(microseconds=int(lu)) == wall.replace(tzinfo=None)
    back, _ = clock.local_to_utc(local_us)
    assert (back == us).mean() > 0.99  # the repeated hour after clocks go back maps to its first instant


def test_the_cli_bounds_duckdbs_buffer_pool_and_leaves_the_environment_as_it_was(monkeypatch):
    """Issue 16: DuckDB keeps the pages a load writes up to 80 % of RAM; the CLI's import caps it (dlt reads the
    destination's global_config from the environment), unless the environment sets that config itself."""
    from pipelines.fitbit.export import source

    monkeypatch.delenv(source._DUCKDB_CONFIG_ENV, raising=False)
    with source.bounded_duckdb_memory():
        assert json.loads(os.environ[source._DUCKDB_CONFIG_ENV]) == {"memory_limit": source.DUCKDB_MEMORY_LIMIT}
    assert source._DUCKDB_CONFIG_ENV not in os.environ
    monkeypatch.setenv(source._DUCKDB_CONFIG_ENV, '{"memory_limit": "2GB"}')
    with source.bounded_duckdb_memory():
        assert os.environ[source._DUCKDB_CONFIG_ENV] == '{"memory_limit": "2GB"}'
    assert os.environ[source._DUCKDB_CONFIG_ENV] == '{"memory_limit": "2GB"}'

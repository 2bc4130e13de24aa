"""The recorder of each sample (the CSV layout's `data source`: a watch, the phone in the pocket) reaches raw as
`data_source` (issue 12), on the contract fixture tests/fixtures/takeout/two_recorders; the JSON layout and CSV
headers without the column have none; a warehouse an older import loaded gains the column."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from pipelines.common.runner import run_source
from pipelines.fitbit.export import fitbit_export_source, readers

pytestmark = [pytest.mark.slow,  # each test runs the import end to end (tests/conftest.py: SLOW_FILES)
              pytest.mark.usefixtures("ledger_off")]  # what the import loads; the ledger has its own tests

TABLES = ("fitbit_export__steps", "fitbit_export__calories", "fitbit_export__heart_rate")


def load(path) -> None:
    run_source("fitbit_export", lambda: fitbit_export_source(path=str(path)))


def by_recorder(warehouse, table: str, value: str) -> list[tuple]:
    date_column = "sample_date" if table == "fitbit_export__heart_rate" else "activity_date"
    return warehouse.query(f"""select {date_column}, data_source, {value}, count(*) from raw.{table}
                               group by 1, 2 order by 1, 2""")


def test_raw_keeps_each_recorders_rows(warehouse, takeout_fixture):
    load(takeout_fixture("two_recorders"))
    assert by_recorder(warehouse, "fitbit_export__steps", "sum(steps)") == [
        (date(2026, 7, 14), "MobileTrack", 305, 4), (date(2026, 7, 14), "Pixel Watch 3", 395, 5),
        (date(2026, 7, 15), "MobileTrack", 750, 2), (date(2026, 7, 15), "Pixel Watch 3", 30, 1)]
    assert by_recorder(warehouse, "fitbit_export__calories", "round(sum(calories_kcal), 2)") == [
        (date(2026, 7, 14), "MobileTrack", 3.6, 3), (date(2026, 7, 14), "Pixel Watch 3", 6.5, 4)]
    assert by_recorder(warehouse, "fitbit_export__heart_rate", "sum(bpm)") == [
        (date(2026, 7, 14), "Phone Health Connect", 178, 2), (date(2026, 7, 14), "Pixel Watch 3", 306, 4)]
    # both recorders wrote 12:00:00Z: the file holds that instant twice, once per recorder
    assert warehouse.query("""select data_source, steps from raw.fitbit_export__steps
                              where start_at_utc = ? order by 1""", [datetime(2026, 7, 14, 12, tzinfo=UTC)]) == [
        ("MobileTrack", 35), ("Pixel Watch 3", 40)]


def test_the_json_layout_and_a_header_without_the_column_have_no_recorder(warehouse, takeout_fixture, monkeypatch):
    monkeypatch.setenv("FITBIT_EXPORT_REJECTED_THRESHOLD", "0.5")  # activity_json holds a few bad records
    load(takeout_fixture("activity_json"))
    load(takeout_fixture("csv_only"))
    # JSON calories, and csv_only's heart_rate_*.csv (header `timestamp,beats per minute`): null
    assert warehouse.query("select count(*), count(data_source) from raw.fitbit_export__calories") == [(4, 0)]
    assert warehouse.query("select count(*), count(data_source) from raw.fitbit_export__heart_rate") == [(7, 0)]
    # csv_only's steps_*.csv names its recorder
    assert warehouse.query("select distinct data_source from raw.fitbit_export__steps") == [("Pixel Watch 3",)]


def test_a_warehouse_an_older_import_loaded_gains_the_column(warehouse, takeout_fixture, monkeypatch):
    """The first load reads as the import did before data_source (the reader's table without it); the next one
    adds the column: the old rows keep null, the new rows name their recorder."""
    shape = readers._shape

    def without_recorder(*args, **kwargs) -> pa.Table:
        table = shape(*args, **kwargs)
        return table.drop_columns(["data_source"])

    with monkeypatch.context() as old_import:
        old_import.setattr(readers, "_shape", without_recorder)
        load(takeout_fixture("csv_only"))
    assert "data_source" not in {c for (c,) in warehouse.query(
        "select column_name from information_schema.columns where table_name = 'fitbit_export__steps'")}
    load(takeout_fixture("two_recorders"))
    for table in TABLES:
        rows = dict(warehouse.query(f"""select source_file like '%2026-07-1%', count(data_source) = count(*)
                                        from raw.{table} group by 1"""))
        assert rows[True] is True, table  # the new file's rows name their recorder
    assert warehouse.query("""select count(*), count(data_source) from raw.fitbit_export__steps
                              where source_file = 'Physical Activity_GoogleData/steps_2024-10-27.csv'""") == [(2, 0)]

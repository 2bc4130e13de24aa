"""`make bench-scale` at a small size (3 days): the same code path as the 1/5/10-year runs (export written with its
last day held back, our import, DuckDB's read_json and DuckDB alone writing the raw table's columns (the floor) each in
a process of their own, then the next cumulative
export imported incrementally), without the dbt runs (tests/dbt/test_incremental_marts.py covers those)."""

from __future__ import annotations

import re

import pytest

from scripts import bench_scale


def assert_ratio(printed: float, numerator: float, denominator: float) -> None:
    """The row prints seconds to 0.1 and each ratio from the unrounded figures: the ratio must lie within what the
    printed seconds allow (a 0.3 s native read may be 0.25 s, so 5.0 / 0.3 can print as 14.3 or as 20)."""
    assert numerator > 0 and denominator > 0
    low = (numerator - 0.05) / (denominator + 0.05) - 0.05
    high = (numerator + 0.05) / max(denominator - 0.05, 0.01) + 0.05
    assert low <= printed <= high, (printed, numerator, denominator)


@pytest.mark.slow  # subprocess pipelines
def test_bench_scale_small_size_prints_every_figure_and_verdict(capsys, tmp_path):
    assert bench_scale.main(["--days", "3", "--no-dbt", "--keep", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    headline = re.search(r"3 days: ([\d,]+) heart-rate samples.*new day ([\d,]+) samples", out)
    assert headline, out
    samples, new_day = (int(g.replace(",", "")) for g in headline.groups())
    assert samples > 0 and new_day > 0
    row = next(line.split() for line in out.splitlines() if line.strip().startswith("3 d "))
    # '3', 'd', samples, import s, samples/s, peak MB, native s, ratio, floor s, floor ratio, build s, +1 day import s,
    # dbt s, total s, BQ
    assert int(row[2].replace(",", "")) == samples, "the row counts what the import loaded before the new day"
    import_s, native_s, floor_s = float(row[3]), float(row[6]), float(row[8])
    assert_ratio(float(row[7]), import_s, native_s)
    assert_ratio(float(row[9]), floor_s, native_s)
    assert row[10] == "n/a" and float(row[11]) > 0  # no dbt; the incremental import was timed
    # the same imports in CPU seconds (GNU time's user + system), steadier than wall time on a shared machine
    cpu_row = next(line.split() for line in out.splitlines()
                   if line.strip().startswith("3 d ") and line.split() != row)
    assert_ratio(float(cpu_row[4]), float(cpu_row[2]), float(cpu_row[3]))  # import CPU / native CPU
    assert_ratio(float(cpu_row[6]), float(cpu_row[5]), float(cpu_row[3]))  # floor CPU / native CPU
    assert cpu_row[7] == "n/a"  # no dbt build, no build peak
    assert "import / DuckDB-native at the largest size" in out and ("met" in out or "MISSED" in out)
    assert "DuckDB alone writing the raw table's columns:" in out
    assert "BigQuery, 3 days: a full build of fct_heart_rate_daily and its sample tests" in out
    # the imported warehouse holds both exports' samples, the new day's once
    import duckdb

    con = duckdb.connect(str(tmp_path / "days_3" / "warehouse.duckdb"), read_only=True)
    try:
        loaded, loads = con.execute("select count(*), count(distinct _dlt_load_id) "
                                    "from raw.fitbit_export__heart_rate").fetchone()
    finally:
        con.close()
    assert (loaded, loads) == (samples + new_day, 2)
    # the floor wrote the import's first load, row for row (the bench checks a digest; this checks every row)
    con = duckdb.connect(str(tmp_path / "days_3" / "floor.duckdb"), read_only=True)
    try:
        con.execute(f"attach '{tmp_path / 'days_3' / 'warehouse.duckdb'}' as imported (read_only)")
        first = con.execute("select min(load_id) from imported.raw._dlt_loads").fetchone()[0]
        columns = bench_scale.FLOOR_COLUMNS
        differ = con.execute(f"""select count(*) from (
            (select {columns} from heart_rate except all
             select {columns} from imported.raw.fitbit_export__heart_rate where _dlt_load_id = '{first}')
            union all
            (select {columns} from imported.raw.fitbit_export__heart_rate where _dlt_load_id = '{first}' except all
             select {columns} from heart_rate))""").fetchone()[0]
        floor_rows = con.execute("select count(*) from heart_rate").fetchone()[0]
    finally:
        con.close()
    assert (floor_rows, differ) == (samples, 0)

"""Benchmarks the Fitbit export import: a year of per-second heart rate, Arrow path vs dict rows vs DuckDB's read_json."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import dlt
import duckdb

from sandbox.fitbit_data import generate_health
from sandbox.fitbit_export import EXPORT_TS, write_export
from sandbox.life import LifeConfig, SyntheticLife

TARGET_SECONDS = 10.0


def full_import(export: Path, work: Path) -> tuple[float, int, float]:
    """Our pipeline end to end (hash, parse, dlt extract/normalize/load/merge), then a second run that skips all."""
    os.environ["WAREHOUSE_PATH"] = str(work / "warehouse.duckdb")
    os.environ["PIPELINES_DIR"] = str(work / "dlt")
    from pipelines.common.runner import run_source
    from pipelines.fitbit.export import fitbit_export_source

    started = time.perf_counter()
    report = run_source("fitbit_export", lambda: fitbit_export_source(path=str(export)))
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = run_source("fitbit_export", lambda: fitbit_export_source(path=str(export)))
    assert again.total_rows == 0, "a second import of the same export must load nothing"
    return seconds, report.rows.get("fitbit__heart_rate_intraday", 0), time.perf_counter() - started


def duckdb_native(files: list[Path], work: Path) -> float:
    """DuckDB's own read_json of the same heart-rate files into a table: the floor we compare against."""
    con = duckdb.connect(str(work / "native.duckdb"))
    listing = "[" + ", ".join(f"'{p}'" for p in files) + "]"
    started = time.perf_counter()
    con.execute(f"""create table heart_rate as select * from read_json({listing}, format = 'array',
                    columns = {{'dateTime': 'TIMESTAMP', 'value': 'STRUCT(bpm INTEGER, confidence INTEGER)'}},
                    timestampformat = '{EXPORT_TS}')""")
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def subset_paths(files: list[Path], work: Path, name: str, as_dicts: bool) -> tuple[float, int]:
    """Load the same few files through dlt as Arrow (our path) or as one dict per sample (the slow path)."""
    from pipelines.fitbit.export.files import Export

    def dict_rows():
        for path in files:
            for s in json.loads(path.read_bytes()):
                at = datetime.strptime(s["dateTime"], EXPORT_TS)
                yield {"measured_at": at, "measured_date": at.date(), "bpm": s["value"]["bpm"],
                       "confidence": s["value"]["confidence"]}

    def arrow_rows():
        export = Export(files[0].parent)
        wanted = {p.name for p in files}
        yield export.parse([f for f in export.files() if f.name in wanted]).tables["heart_rate"]

    resource = dlt.resource(dict_rows if as_dicts else arrow_rows, name="fitbit__heart_rate_intraday",
                            merge_key="measured_date",
                            write_disposition={"disposition": "merge", "strategy": "delete-insert"})
    pipeline = dlt.pipeline(pipeline_name=f"bench_{name}", pipelines_dir=str(work / "dlt_subset"),
                            destination=dlt.destinations.duckdb(str(work / f"{name}.duckdb")), dataset_name="raw")
    started = time.perf_counter()
    pipeline.run(resource())
    seconds = time.perf_counter() - started
    rows = pipeline.last_trace.last_normalize_info.row_counts.get("fitbit__heart_rate_intraday", 0)
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365, help="days of per-second heart rate (365 = ~7.3 M rows)")
    parser.add_argument("--subset-days", type=int, default=2, help="days loaded through both Arrow and dict rows")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-fitbit-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        health = generate_health(SyntheticLife(LifeConfig(seed=42, start=date(2025, 1, 1), days=args.days)))
        manifest = write_export(health, work / "export")
        hr_files = sorted(manifest.folder / n for n, k in manifest.files.items() if k == "heart_rate")
        size_mb = sum(p.stat().st_size for p in manifest.folder.iterdir()) / 1e6
        print(f"export: {args.days} days, {manifest.rows['heart_rate']:,} per-second heart-rate samples in "
              f"{len(hr_files)} files, {len(manifest.files)} files / {size_mb:,.0f} MB in all "
              f"(synthetic, written in {time.perf_counter() - started:.1f} s)")

        native = duckdb_native(hr_files, work)
        seconds, rows, rerun = full_import(manifest.path, work)
        print(f"full import  python -m pipelines.fitbit.export: {seconds:6.2f} s  {rows / seconds:>12,.0f} hr rows/s "
              f"(all five tables, hashing and merge included)")
        print(f"DuckDB-native read_json of the heart-rate files:   {native:6.2f} s  {rows / native:>12,.0f} rows/s  "
              f"-> our import takes {seconds / native:.1f}x DuckDB-native")
        print(f"second import of the unchanged export:             {rerun:6.2f} s  (0 rows, every file skipped by hash)")

        subset = hr_files[: args.subset_days]
        arrow_s, arrow_rows = subset_paths(subset, work, "arrow", as_dicts=False)
        dict_s, dict_rows = subset_paths(subset, work, "dicts", as_dicts=True)
        print(f"same {len(subset)} files ({arrow_rows:,} rows) through dlt: Arrow {arrow_rows / arrow_s:,.0f} rows/s "
              f"({arrow_s:.2f} s), dict per row {dict_rows / dict_s:,.0f} rows/s ({dict_s:.2f} s) "
              f"-> Arrow {dict_s / arrow_s:.0f}x faster; dicts would need ~{rows / (dict_rows / dict_s) / 60:.0f} "
              f"min for the full year")
        print(f"full-year Arrow import {rows / seconds:,.0f} rows/s vs dict rows {dict_rows / dict_s:,.0f} rows/s: "
              f"{(rows / seconds) / (dict_rows / dict_s):.0f}x")
        verdict = "met" if seconds < TARGET_SECONDS else "MISSED"
        print(f"target: full import under {TARGET_SECONDS:.0f} s on this machine ({os.cpu_count()} cores): {verdict}")


if __name__ == "__main__":
    main()

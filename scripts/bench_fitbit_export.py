"""Benchmarks the Fitbit export import: a year of per-second heart rate, Arrow path vs dict rows vs DuckDB's read_json,
and the import's peak memory (it reads the export in batches of files, so memory stays flat as the export grows)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
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
    return seconds, report.rows.get("fitbit_export__heart_rate", 0), time.perf_counter() - started


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
    from pipelines.fitbit.export.profile import Setting, ZoneClock
    from pipelines.fitbit.export.readers import ReadContext, read_intraday

    def dict_rows():
        for path in files:
            for s in json.loads(path.read_bytes()):
                at = datetime.strptime(s["dateTime"], EXPORT_TS)
                yield {"sample_at_utc": at, "sample_date": at.date(), "bpm": s["value"]["bpm"],
                       "confidence": s["value"]["confidence"], "source_file": path.name}

    def arrow_rows():
        with tempfile.TemporaryDirectory() as scratch:
            export = Export(files[0].parent, Path(scratch))
            wanted = {p.name for p in files}
            chosen = [f for f in export.listing().files if f.name in wanted]
            context = ReadContext(ZoneClock("UTC"), "utc", Setting("kg", "bench"), None)
            yield read_intraday("heart_rate", chosen, {f.source_file: f.part.local_path(f.member) for f in chosen},
                                context).table

    resource = dlt.resource(dict_rows if as_dicts else arrow_rows, name="fitbit_export__heart_rate",
                            merge_key="source_file",
                            write_disposition={"disposition": "merge", "strategy": "delete-insert"})
    pipeline = dlt.pipeline(pipeline_name=f"bench_{name}", pipelines_dir=str(work / "dlt_subset"),
                            destination=dlt.destinations.duckdb(str(work / f"{name}.duckdb")), dataset_name="raw")
    started = time.perf_counter()
    pipeline.run(resource())
    seconds = time.perf_counter() - started
    rows = pipeline.last_trace.last_normalize_info.row_counts.get("fitbit_export__heart_rate", 0)
    return seconds, rows


def peak_memory(export: Path, work: Path) -> tuple[float, float] | None:
    """(seconds, peak RSS in MB) of `python -m pipelines.fitbit_export` in a process of its own, measured by GNU
    time (rusage of a child forked from this large process would count pages it never touched); None without it."""
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    if gnu_time is None:
        return None
    env = {**os.environ, "WAREHOUSE_PATH": str(work / "memory.duckdb"), "PIPELINES_DIR": str(work / "dlt_memory"),
           "RUN_LEDGER": "off"}
    started = time.perf_counter()
    done = subprocess.run([gnu_time, "-f", "peak_kb=%M", sys.executable, "-m", "pipelines.fitbit_export", "--path",
                           str(export)], env=env, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    peak_kb = int(done.stderr.rsplit("peak_kb=", 1)[1].split()[0])
    return seconds, peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365, help="days of per-second heart rate (365 = ~7.3 M rows)")
    parser.add_argument("--subset-days", type=int, default=2, help="days loaded through both Arrow and dict rows")
    parser.add_argument("--memory", action="store_true", help="also import once more in a child process and report "
                        "its peak memory")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-fitbit-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        health = generate_health(SyntheticLife(LifeConfig(seed=42, start=date(2025, 1, 1), days=args.days)))
        manifest = write_export(health, work / "export")
        hr_files = sorted(manifest.file(n) for n, k in manifest.files.items() if k == "heart_rate")
        size_mb = sum(manifest.file(n).stat().st_size for n in manifest.files) / 1e6
        print(f"export: {args.days} days, {manifest.rows['heart_rate']:,} per-second heart-rate samples in "
              f"{len(hr_files)} files, {len(manifest.files)} files / {size_mb:,.0f} MB in all "
              f"(synthetic, written in {time.perf_counter() - started:.1f} s)")

        native = duckdb_native(hr_files, work)
        seconds, rows, rerun = full_import(manifest.path, work)
        print(f"full import  python -m pipelines.fitbit.export: {seconds:6.2f} s  {rows / seconds:>12,.0f} hr rows/s "
              f"(every table, hashing, time zones and the per-file merge included)")
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
        if args.memory and (measured := peak_memory(manifest.path, work)):
            child_s, peak_mb = measured
            print(f"peak memory of the import in a process of its own: {peak_mb:,.0f} MB ({child_s:.1f} s, "
                  f"batches of 31 files)")
        verdict = "met" if seconds < TARGET_SECONDS else "MISSED"
        print(f"target: full import under {TARGET_SECONDS:.0f} s on this machine ({os.cpu_count()} cores): {verdict}")


if __name__ == "__main__":
    main()

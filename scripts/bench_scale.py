"""`make bench-scale`: years of per-second heart rate imported, against DuckDB-native, then one new day incrementally.

For each size (BENCH_YEARS="1 5 10", or --years; default 1 year, a few minutes here) a synthetic Takeout export
(the sandbox's writer, ~7.3 M heart-rate samples a year) is written with its last day held back, then:
  1. our import (`python -m pipelines.fitbit_export`, a process of its own under GNU time): seconds, samples/s,
     peak MB;
  2. DuckDB's own `read_json` of the same heart-rate files into a table, also a process of its own: the ratio;
     and DuckDB alone writing the raw table's own columns from those files (both times and the offset, the local
     date, each row's file and hash, the load id; no dlt, no Python per batch): the floor any import that keeps
     design.md's conventions for time and lineage pays, as a ratio to read_json too;
  3. `dbt build` of fct_heart_rate_daily, the views it reads and their tests (its first, full build);
  4. the next cumulative export (the held-back day added, every other file unchanged): the incremental import
     (unchanged files skipped by fingerprint, unread: folder mtime+ctime, zip CRC-32) and the incremental dbt build
     (the months the new load touched, ranked and tested on their span only), timed together;
  5. the BigQuery bytes a scheduled `dbt build` of fct_heart_rate_daily and the tests over its samples would
     process, estimated from the raw table's rows and BigQuery's column sizes (the emulator cannot measure bytes):
     a full build reads every row of the columns the models read, once for the mart and once for each of the three
     tests (the two sample views' one-row-per-instant tests, the raw table's key); a scheduled build reads the new
     rows' load id and date (clustered by `_dlt_load_id`; twice: the mart, and its post-hook recording the months)
     plus the months it recomputes, four times: the mart and the tests filter the samples on those months' UTC
     span before the de-dup windows (partitioned by the instant), so the filter reaches the raw partitions. Before
     the tests were scoped to the recomputed months, each of the six read all history (printed for comparison).
Then the issue's targets, each with a verdict. Whole-process figures on a shared machine: rerun before quoting.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import NamedTuple

import duckdb

from pipelines.fitbit.export.readers import SCHEMAS
from sandbox.fitbit_data import generate_health
from sandbox.fitbit_export import EXPORT_TS, write_export
from sandbox.life import LifeConfig, SyntheticLife

REPO = Path(__file__).resolve().parents[1]
TARGET_PEAK_MB = 1024.0
TARGET_RATIO = 2.0
TARGET_INCREMENTAL_GROWTH = 1.5
START = date(2016, 1, 1)
# BigQuery's logical sizes (https://cloud.google.com/bigquery/pricing#data): 8 bytes for INT64, DATE, DATETIME
# and TIMESTAMP, 2 + UTF-8 length for STRING
HR_COLUMNS_SQL = ("8 + 8 + 8 + 8 + 8 + 8 + 2 + length(source_file)")  # what the HR staging model reads
LOAD_DATE_SQL = "(2 + length(_dlt_load_id)) + 8"  # the changed-date scan: load id + sample_date
ON_DEMAND_USD_PER_TIB = 6.25


class Timed(NamedTuple):
    seconds: float  # wall
    peak_mb: float | None  # peak RSS; None without GNU time
    output: str
    cpu_s: float | None = None  # user + system CPU seconds of the process and its children; None without GNU time


def timed(cmd: list[str], env: dict[str, str]) -> Timed:
    """Wall seconds, peak RSS MB, output and CPU seconds of a command in a process of its own. On a shared machine
    wall time waits for the other processes; CPU seconds do not, so the CPU ratio is the steadier comparison."""
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    wrapped = [gnu_time, "-f", "peak_kb=%M cpu_s=%U+%S", *cmd] if gnu_time else cmd
    started = time.perf_counter()
    done = subprocess.run(wrapped, env=env, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    peak = cpu = None
    if gnu_time and "peak_kb=" in done.stderr:
        tail = done.stderr.rsplit("peak_kb=", 1)[1].split()  # ["<kb>", "cpu_s=<user>+<system>", ...]
        peak = int(tail[0]) / 1024
        if len(tail) > 1 and tail[1].startswith("cpu_s="):
            cpu = sum(float(x) for x in tail[1].removeprefix("cpu_s=").split("+"))
    return Timed(seconds, peak, done.stdout + done.stderr, cpu)


def native_command(folder: Path, database: Path) -> list[str]:
    """DuckDB's read_json of every heart-rate file of the export into a table (the baseline of the ratio)."""
    glob = str(folder / "heart_rate-*.json")
    sql = (f"create table heart_rate as select * from read_json('{glob}', format = 'array', "
           f"columns = {{'dateTime': 'TIMESTAMP', 'value': 'STRUCT(bpm INTEGER, confidence INTEGER)'}}, "
           f"timestampformat = '{EXPORT_TS}')")
    return [sys.executable, "-c", f"import duckdb; duckdb.connect({str(database)!r}).execute({sql!r})"]


FLOOR_SCRIPT = r'''
import duckdb, glob, hashlib, os, sys
folder, database, timezone, ts = sys.argv[1:]
# each file's sha256, once per file, as the import's ExportPart.hash does (written out here: importing the pipelines
# package would import dlt into the floor's process; hashlib is 4x DuckDB's sha256 here)
hashes = []
for path in sorted(glob.glob(os.path.join(folder, "heart_rate-*.json"))):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    hashes.append((path, "Global Export Data/" + os.path.basename(path), digest.hexdigest()))
con = duckdb.connect(database)
con.execute("set TimeZone = 'UTC'")
con.execute("set enable_progress_bar = false")
con.execute("create temp table hashes (filename varchar, source_file varchar, file_hash varchar)")
con.executemany("insert into hashes values (?, ?, ?)", hashes)
listing = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p, _, _ in hashes) + "]"
con.execute(f"""
    create table heart_rate as
    with samples as (
        select cast("dateTime" as timestamptz) as sample_at_utc,
               timezone('{timezone}', cast("dateTime" as timestamptz)) as sample_at_local,
               "value".bpm as bpm, "value".confidence as confidence, filename
        from read_json({listing}, format = 'array', filename = true,
                       columns = {{'dateTime': 'TIMESTAMP', 'value': 'STRUCT(bpm DOUBLE, confidence INTEGER)'}},
                       timestampformat = '{ts}'))
    select sample_at_utc, sample_at_local,
           cast(datediff('minute', cast(sample_at_utc as timestamp), sample_at_local) as smallint) as utc_offset_minutes,
           cast(sample_at_local as date) as sample_date, cast(round(bpm) as smallint) as bpm,
           cast(confidence as tinyint) as confidence, cast(null as varchar) as data_source, hashes.source_file,
           hashes.file_hash, '1700000000.0' as _dlt_load_id
    from samples join hashes using (filename)""")
'''


def floor_command(folder: Path, database: Path, timezone: str) -> list[str]:
    """DuckDB alone writing raw.fitbit_export__heart_rate's columns from the same files: instants in UTC and their
    local view (wall time, offset, local date) in the export's zone, each row's file and that file's sha256 (hashed
    once per file with hashlib, as the import does), a load id: what keeping those columns costs DuckDB itself."""
    return [sys.executable, "-c", FLOOR_SCRIPT, str(folder), str(database), timezone, EXPORT_TS]


def dbt_command() -> list[str]:
    """`dbt build` of the mart, the views it reads and their tests: what a scheduled transform runs of that path."""
    return [str(Path(sys.executable).parent / "dbt"), "--no-use-colors", "build", "--select", "+fct_heart_rate_daily",
            "--project-dir", "dbt", "--profiles-dir", "dbt", "--target", "dev"]


READS_PER_BUILD = 4  # the mart, the two sample views' tests and the raw key test each read the samples' columns
UNSCOPED_TEST_READS = 6  # before: unique + not_null on two views, not_null on one, the raw key: all history each


def bytes_estimate(warehouse: Path, new_load_id: str) -> tuple[float, float]:
    """(full build, scheduled build) bytes of the raw heart-rate table a `dbt build` of the mart and its sample
    tests reads, as BigQuery counts (each test an upper bound: it reads the mart's columns or fewer)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        full = con.execute(f"select coalesce(sum({HR_COLUMNS_SQL}), 0) from raw.fitbit_export__heart_rate").fetchone()[0]
        new_scan, months = con.execute(
            f"select coalesce(sum({LOAD_DATE_SQL}), 0), list(distinct date_trunc('month', sample_date)) "
            f"from raw.fitbit_export__heart_rate where _dlt_load_id >= ?", [new_load_id]).fetchone()
        months_scan = con.execute(
            f"select coalesce(sum({HR_COLUMNS_SQL}), 0) from raw.fitbit_export__heart_rate "
            f"where date_trunc('month', sample_at_utc) in (select unnest(?::date[]))", [months or []]).fetchone()[0]
        return float(READS_PER_BUILD * full), float(2 * new_scan + READS_PER_BUILD * months_scan)
    finally:
        con.close()


# the raw table's columns as the import writes them (its Arrow schema): a column added there and not to the floor
# makes the floor's check fail instead of comparing less
FLOOR_COLUMNS = ", ".join(SCHEMAS["heart_rate"].names)


def same_rows(warehouse: Path, floor_db: Path) -> None:
    """The floor wrote what the import loaded: the same row count and the same sum of row hashes."""
    con = duckdb.connect(str(floor_db), read_only=True)
    try:
        con.execute(f"attach '{warehouse}' as imported (read_only)")
        digest = f"select count(*), sum(hash({FLOOR_COLUMNS})) from "
        ours = con.execute(digest + "imported.raw.fitbit_export__heart_rate").fetchone()
        floor = con.execute(digest + "heart_rate").fetchone()
    finally:
        con.close()
    if ours != floor:
        raise SystemExit(f"the floor's table differs from the import's (rows, hash sum): {floor} vs {ours}")


def newest_load(warehouse: Path) -> str:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("select max(load_id) from raw._dlt_loads where status = 0").fetchone()[0]
    finally:
        con.close()


def bench(days: int, work: Path, with_dbt: bool) -> dict:
    started = time.perf_counter()
    health = generate_health(SyntheticLife(LifeConfig(seed=42, start=START, days=days + 1)))
    manifest = write_export(health, work / "export", unread_kinds=False)
    hr = sorted(n for n, k in manifest.files.items() if k == "heart_rate")
    last = manifest.file(hr[-1])
    held_back = work / "held_back.json"
    shutil.move(last, held_back)  # the first export ends a day earlier; the next adds that day
    new_day_samples = len(json.loads(held_back.read_text()))
    samples = manifest.rows["heart_rate"] - new_day_samples
    size_mb = sum(p.stat().st_size for p in (work / "export").rglob("*") if p.is_file()) / 1e6
    written = time.perf_counter() - started

    warehouse = work / "warehouse.duckdb"
    env = {**os.environ, "WAREHOUSE_PATH": str(warehouse), "PIPELINES_DIR": str(work / "dlt"),
           "PIPELINE_DESTINATION": "duckdb", "RUN_LEDGER": "off", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "DBT_TARGET_PATH": str(work / "dbt_target"), "DBT_LOG_PATH": str(work / "dbt_logs")}
    for name in ("FORCE_FULL_REFRESH", "FITBIT_EXPORT_FULL_REFRESH"):
        env.pop(name, None)
    importer = [sys.executable, "-m", "pipelines.fitbit_export", "--path", str(manifest.path)]
    ours = timed(importer, env)
    native = timed(native_command(manifest.folder, work / "native.duckdb"), env)
    floor = timed(floor_command(manifest.folder, work / "floor.duckdb", manifest.timezone), env)
    result = {"days": days, "samples": samples, "export_mb": size_mb, "written_s": written, "import_s": ours.seconds,
              "import_mb": ours.peak_mb, "import_cpu_s": ours.cpu_s, "native_s": native.seconds,
              "native_mb": native.peak_mb, "native_cpu_s": native.cpu_s, "floor_s": floor.seconds,
              "floor_cpu_s": floor.cpu_s, "build_s": None, "build_mb": None,
              "incremental_import_s": None, "incremental_build_s": None, "new_day_samples": new_day_samples}
    if with_dbt:
        build = timed(dbt_command(), env)
        result["build_s"], result["build_mb"] = build.seconds, build.peak_mb
    same_rows(warehouse, work / "floor.duckdb")
    before = newest_load(warehouse)
    shutil.move(held_back, last)  # the next cumulative export
    incremental = timed(importer, env)
    result["incremental_import_s"], result["incremental_import_mb"] = incremental.seconds, incremental.peak_mb
    if "1 new or changed imported" not in incremental.output:
        raise SystemExit(f"the incremental import did not read exactly the new day's file:\n{incremental.output[-2000:]}")
    if with_dbt:
        result["incremental_build_s"] = timed(dbt_command(), env).seconds
    new_load = newest_load(warehouse)
    assert new_load != before, "the new day was not loaded"
    result["bq_full_bytes"], result["bq_incremental_bytes"] = bytes_estimate(warehouse, new_load)
    return result


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def report(results: list[dict]) -> list[str]:
    lines = [f"{'size':>9} {'samples':>12} {'import s':>9} {'samples/s':>11} {'peak MB':>8} {'native s':>9} "
             f"{'ratio':>6} {'floor s':>8} {'ratio':>6} {'build s':>8} {'+1 day: import s':>17} {'dbt s':>7} {'total s':>8} "
             f"{'BQ full MB':>11} {'BQ incr MB':>11}"]
    for r in results:
        size = f"{r['days'] / 365:.0f} y" if r["days"] >= 365 else f"{r['days']} d"
        total = (r["incremental_import_s"] + r["incremental_build_s"]) if r["incremental_build_s"] else None
        r["incremental_total_s"] = total
        lines.append(
            f"{size:>9} {r['samples']:>12,} {r['import_s']:>9.1f} {r['samples'] / r['import_s']:>11,.0f} "
            f"{fmt(r['import_mb'], '>8,.0f')} {r['native_s']:>9.1f} {r['import_s'] / r['native_s']:>6.1f} "
            f"{r['floor_s']:>8.1f} {r['floor_s'] / r['native_s']:>6.1f} {fmt(r['build_s'], '>8.1f')} {r['incremental_import_s']:>17.1f} {fmt(r['incremental_build_s'], '>7.1f')} "
            f"{fmt(total, '>8.1f')} {r['bq_full_bytes'] / 1e6:>11,.0f} {r['bq_incremental_bytes'] / 1e6:>11,.1f}")
    return lines


def cpu_report(results: list[dict]) -> list[str]:
    """The same imports in CPU seconds (user + system, all threads): what the processes spent, not what they waited
    for on a shared machine; and the first dbt build's peak memory (the import's target does not cover it)."""
    lines = [f"{'size':>9} {'import CPU s':>13} {'native CPU s':>13} {'CPU ratio':>10} {'floor CPU s':>12} "
             f"{'floor CPU ratio':>16} {'build peak MB':>14}"]
    for r in results:
        size = f"{r['days'] / 365:.0f} y" if r["days"] >= 365 else f"{r['days']} d"
        ours, native = r.get("import_cpu_s"), r.get("native_cpu_s")
        ratio = ours / native if ours is not None and native else None
        floor = r.get("floor_cpu_s")
        floor_ratio = floor / native if floor is not None and native else None
        lines.append(f"{size:>9} {fmt(ours, '>13.1f')} {fmt(native, '>13.1f')} {fmt(ratio, '>10.1f')} "
                     f"{fmt(floor, '>12.1f')} {fmt(floor_ratio, '>16.1f')} {fmt(r.get('build_mb'), '>14,.0f')}")
    return lines

def verdicts(results: list[dict]) -> list[str]:
    largest, smallest = results[-1], results[0]
    ratio = largest["import_s"] / largest["native_s"]
    lines = []
    if largest["import_mb"] is not None:
        lines.append(f"peak memory at the largest size ({largest['days']} days) {largest['import_mb']:,.0f} MB "
                     f"<= {TARGET_PEAK_MB:,.0f} MB: {'met' if largest['import_mb'] <= TARGET_PEAK_MB else 'MISSED'}")
    floor = largest["floor_s"] / largest["native_s"]
    lines.append(f"import / DuckDB-native at the largest size {ratio:.1f}x <= {TARGET_RATIO}x: "
                 f"{'met' if ratio <= TARGET_RATIO else 'MISSED'} (DuckDB alone writing the raw table's columns: "
                 f"{floor:.1f}x{', already over the target' if floor > TARGET_RATIO else ''})")
    if len(results) > 1 and smallest.get("incremental_total_s") and largest.get("incremental_total_s"):
        growth = largest["incremental_total_s"] / smallest["incremental_total_s"]
        lines.append(f"one new day, import + dbt, at {largest['days']} days vs {smallest['days']} days: {growth:.2f}x "
                     f"<= {TARGET_INCREMENTAL_GROWTH}x: {'met' if growth <= TARGET_INCREMENTAL_GROWTH else 'MISSED'}")
    else:
        lines.append("one new day at the largest size vs the smallest: needs two sizes with dbt (BENCH_YEARS=\"1 10\")")
    for r in results:
        full, incr = r["bq_full_bytes"], r["bq_incremental_bytes"]
        unscoped = incr + full / READS_PER_BUILD * UNSCOPED_TEST_READS
        lines.append(f"BigQuery, {r['days']} days: a full build of fct_heart_rate_daily and its sample tests reads "
                     f"~{full / 1e9:,.2f} GB of raw heart rate (~${full / 2**40 * ON_DEMAND_USD_PER_TIB * 10 * 30:,.2f}"
                     f"/month at 10 builds a day on demand); a scheduled build ~{incr / 1e6:,.1f} MB (the recomputed "
                     f"months' partitions; ~{unscoped / 1e9:,.2f} GB with the tests reading all history, as before) "
                     f"(estimates from table sizes: the emulator cannot measure bytes)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--years", nargs="+", type=float, default=None,
                        help='sizes in years (default: BENCH_YEARS or "1")')
    parser.add_argument("--days", nargs="+", type=int, default=None, help="sizes in days instead (e.g. 3 for a check)")
    parser.add_argument("--no-dbt", action="store_true", help="skip the dbt runs (imports and estimates only)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    args = parser.parse_args(argv)
    if args.days:
        sizes = args.days
    else:
        years = args.years or [float(y) for y in os.environ.get("BENCH_YEARS", "1").split()]
        sizes = [round(y * 365) for y in years]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = args.keep or Path(tmp)
        for days in sorted(sizes):
            work = root / f"days_{days}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            r = bench(days, work, with_dbt=not args.no_dbt)
            print(f"{days} days: {r['samples']:,} heart-rate samples, export {r['export_mb']:,.0f} MB (written in "
                  f"{r['written_s']:.0f} s); new day {r['new_day_samples']:,} samples", flush=True)
            results.append(r)
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    print("\n".join(report(results)))
    print("\n".join(cpu_report(results)))
    print("\n".join(verdicts(results)))
    print(f"(whole processes, {os.cpu_count()} cores; ratio = our import's wall time / DuckDB read_json's)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

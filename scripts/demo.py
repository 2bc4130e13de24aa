"""`make demo`: serve the synthetic person's APIs, load every source, build the marts, print a summary.

The demo has its own warehouse and dlt state (`DEMO_WAREHOUSE_PATH`, default data/demo.duckdb, and
`DEMO_PIPELINES_DIR`, default data/demo.dlt), whatever WAREHOUSE_PATH / PIPELINES_DIR say: synthetic rows and
sandbox cursors never reach the warehouse your real data goes to (data/warehouse.duckdb). For a quicker look,
`DEMO_DAYS` shortens the synthetic life (default 365) and `DEMO_HEART_RATE_INTERVAL` thins its heart rate
(mean seconds between samples, default 4 as a real tracker).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import duckdb

from pipelines.common.cli import not_a_streamlit_app
from pipelines.common.runner import RunReport, run_source
from pipelines.common.settings import REPO_ROOT, warehouse_path
from pipelines.fitbit import fitbit_source
from pipelines.fitbit.export import fitbit_export_source
from pipelines.hubspot import hubspot_source
from pipelines.notion import notion_source
from sandbox.__main__ import DEFAULT_PORT
from sandbox.app import SYNTHETIC_NOTICE, SandboxConfig
from sandbox.fitbit_export import write_export
from sandbox.life import LifeConfig
from sandbox.server import SandboxServer, free_port
from scripts.dbt_invoke import invoke

DBT_DIR = REPO_ROOT / "dbt"
SOURCES = [("notion", notion_source), ("hubspot", hubspot_source)]


def _port() -> int:
    with socket.socket() as s:
        return DEFAULT_PORT if s.connect_ex(("127.0.0.1", DEFAULT_PORT)) != 0 else free_port()


def dbt(*args: str) -> str:
    result = invoke(["--no-use-colors", *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)],
                    capture=True)
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-2000:], sep="\n")
        raise SystemExit(f"dbt {args[0]} failed")
    done = [line for line in result.stdout.splitlines() if "Done." in line or "Catalog written" in line]
    return done[-1].split("  ", 1)[-1].strip() if done else "ok"


def table_counts(con, schema: str) -> list[tuple[str, int]]:
    tables = con.execute(
        "select table_name from information_schema.tables where table_schema = ? and table_name not like '\\_dlt%' "
        "escape '\\' order by table_name", [schema]).fetchall()
    return [(t, con.execute(f'select count(*) from "{schema}"."{t}"').fetchall()[0][0]) for (t,) in tables]


def demo_paths() -> tuple[Path, Path]:
    """The demo's own DuckDB file and dlt working dir (never the ones real runs use)."""
    data = REPO_ROOT / "data"
    return (Path(os.environ.get("DEMO_WAREHOUSE_PATH", data / "demo.duckdb")).resolve(),
            Path(os.environ.get("DEMO_PIPELINES_DIR", data / "demo.dlt")).resolve())


def use_demo_warehouse() -> tuple[Path, Path]:
    """Points this process (pipelines and the dbt it starts) at the demo's DuckDB warehouse and dlt state."""
    warehouse, state = demo_paths()
    os.environ.update({"WAREHOUSE_PATH": str(warehouse), "PIPELINES_DIR": str(state),
                       "PIPELINE_DESTINATION": "duckdb", "DBT_TARGET": "dev"})
    return warehouse, state


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def summary(reports: list[RunReport], seconds: float) -> str:
    con = duckdb.connect(str(warehouse_path()), read_only=True)
    try:
        out = ["", "=" * 78, f"  SYNTHETIC DATA - {SYNTHETIC_NOTICE}", "=" * 78, ""]
        for r in reports:
            out.append(f"{r.source}: {r.mode}; {r.total_rows} rows, {r.api_requests} API requests, {r.seconds:.1f} s")
        out += ["", "raw tables (rows):"]
        out += [f"  raw.{t:<42} {n:>8}" for t, n in table_counts(con, "raw")]
        out += ["", "marts (rows):"]
        out += [f"  marts.{t:<40} {n:>8}" for t, n in table_counts(con, "marts")]
        habits = con.execute(
            "select habit_name, frequency, completion_rate_30d, completion_rate_all_time, current_streak, "
            "longest_streak from marts.habit_completion order by frequency, completion_rate_all_time desc").fetchall()
        out += ["", "habits              frequency  30-day   all-time  current streak  longest",
                "  " + "-" * 72]
        for name, freq, r30, rall, cur, longest in habits:
            unit = {"daily": "days", "weekly": "weeks", "monthly": "months"}[freq]
            pct = f"{float(r30):>6.0%}" if r30 is not None else "     -"
            out.append(f"  {name:<18}{freq:<10}{pct}   {float(rall):>6.0%}    {cur:>4} {unit:<7}   {longest:>4} {unit}")
        health = con.execute(
            "select round(avg(sleep_minutes) / 60, 1), round(avg(case when is_sleep_goal_met then 1.0 else 0 end), 2), "
            "round(avg(steps)), round(avg(resting_heart_rate), 1), count(*) from marts.health_daily "
            "where date_day > (select max(date_day) - 30 from marts.health_daily)").fetchall()[0]
        out += ["", f"health, last 30 days: {health[0]} h sleep a night (goal met {float(health[1] or 0):.0%} of nights), "
                    f"{health[2]:,.0f} steps a day, resting heart rate {health[3]} bpm"]
        vitals = {c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema = 'marts' "
            "and table_name = 'health_daily' and column_name in ('hrv_rmssd_ms', 'spo2_avg_percent')").fetchall()}
        if vitals == {"hrv_rmssd_ms", "spo2_avg_percent"}:
            hrv, spo2, nights = con.execute(
                "select round(avg(hrv_rmssd_ms), 1), round(avg(spo2_avg_percent), 1), count(hrv_rmssd_ms) "
                "from marts.health_daily where date_day > (select max(date_day) - 30 from marts.health_daily)"
            ).fetchall()[0]
            out.append(f"                      heart-rate variability {hrv} ms (RMSSD), SpO2 {spo2} % "
                       f"({nights} nights measured)")
        overdue = con.execute(
            "select full_name, company_name, cast(last_touch_at as date), days_since_last_touch, preferred_channel "
            "from marts.contact_touchpoints where is_fading order by days_since_last_touch desc limit 5").fetchall()
        out += ["", "relationships most overdue for a touch (no call, email or meeting in 90+ days):"]
        for name, company, last, days, channel in overdue:
            out.append(f"  {name:<24}{(company or '-'):<26}last {last} ({days} days ago, usually {channel})")
    finally:
        con.close()
    warehouse, state = demo_paths()
    out += ["", f"demo warehouse:   {_shown(warehouse)}  (DuckDB; dlt state in {_shown(state)})",
            "                  the demo's own: your real data goes to data/warehouse.duckdb, never mixed with this",
            f"dbt docs:         {DBT_DIR / 'target' / 'index.html'}  (serve: make dbt-docs-serve)",
            "dashboard:        make dashboard DEMO=1  (http://127.0.0.1:8501; DEMO=1 reads the demo's warehouse)",
            "your own data:    make setup  (README: \"From the demo to your data\")",
            f"finished in {seconds:.0f} s. Run `make demo` again: the second run loads only what changed.", ""]
    return "\n".join(out)


def load_all_sources(server: SandboxServer, data_dir: Path, api_days: int = 30) -> list[RunReport]:
    """Load every source from a running sandbox into the configured destination (the demo's load step).

    Fitbit: the Takeout export (how most people have their history today), then the last
    `api_days` days from the Google Health API replica (pipeline `fitbit`); each pipeline writes its own raw
    tables and the health marts take every day from the best-ranked source, the API's where it has the day.
    The synthetic export is written on a thread of its own while Notion and HubSpot load (DuckDB writes its
    heart-rate files without the GIL, HubSpot's client waits between searches): it touches only its folder.
    """
    os.environ.update(server.pipeline_env())
    life = server.sandbox.config.life
    tokens = data_dir / "sandbox-fitbit-tokens.json"
    tokens.unlink(missing_ok=True)  # each sandbox start is a fresh first consent (its refresh token is in the env)
    os.environ.update({"SOURCES__FITBIT__TOKEN_STORE_PATH": str(tokens),
                       "SOURCES__FITBIT__START_DATE": (life.end - timedelta(days=api_days - 1)).isoformat()})
    reports = []

    def run(name, source) -> None:
        report = run_source(name, source)
        print(report.render())
        reports.append(report)

    # pyarrow and DuckDB import pandas on first use, and dlt tells a DataFrame by the pandas in sys.modules: first
    # imported by the writer's thread, pandas was half-built there while Notion's extract looked ("partially
    # initialized module 'pandas' has no attribute 'DataFrame'", a failed demo). So it is imported before the thread.
    with contextlib.suppress(ImportError):
        import pandas  # noqa: F401
    with ThreadPoolExecutor(1, thread_name_prefix="sandbox-export") as writer:
        written = writer.submit(write_export, server.sandbox.fitbit, data_dir / "sandbox-fitbit-export")
        for name, source in SOURCES:
            run(name, source)
        export = written.result()
    run("fitbit_export", lambda: fitbit_export_source(path=str(export.path)))
    run("fitbit", fitbit_source)
    return reports


def main() -> None:
    started = time.monotonic()
    not_a_streamlit_app()
    print(f"SYNTHETIC DATA: {SYNTHETIC_NOTICE}")
    warehouse, state = use_demo_warehouse()
    print(f"demo warehouse: {_shown(warehouse)} (its own; dlt state in {_shown(state)})")
    life = LifeConfig.ending_yesterday(days=int(os.environ.get("DEMO_DAYS", "365")))
    config = SandboxConfig(life=life)
    config.fitbit_heart_rate_interval = int(os.environ.get("DEMO_HEART_RATE_INTERVAL", config.fitbit_heart_rate_interval))
    server = SandboxServer(config, port=_port()).start()
    print(f"sandbox APIs on {server.url}")
    try:
        reports = load_all_sources(server, warehouse.parent)  # the synthetic export and tokens sit next to it
    finally:
        server.stop()
    print(f"dbt build: {dbt('build', '--vars', '{data_origin: synthetic sandbox}')}")
    # the build just compiled every node into the manifest: the docs only add the catalog
    print(f"dbt docs:  {dbt('docs', 'generate', '--no-compile')}")
    print(summary(reports, time.monotonic() - started))


if __name__ == "__main__":
    main()

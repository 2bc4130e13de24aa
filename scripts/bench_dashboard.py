"""Times every dashboard page on five synthetic years: cold (empty query cache) and warm, side by side.

Builds a warehouse the way `make demo` does (same load function, whole dbt project) from a sandbox
life of N years, then renders each page with Streamlit's AppTest, which runs the page script
exactly as `streamlit run` does, minus the browser. The target is under 2 s per page.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date
from pathlib import Path

from sandbox.app import SandboxConfig
from sandbox.life import LifeConfig
from sandbox.server import SandboxServer

TARGET_SECONDS = 2.0
APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
PAGES = ["Overview", "Habits", "Health", "Relationships", "Pipeline"]


def build_warehouse(work: Path, years: int, heart_rate_interval: int) -> tuple[Path, float]:
    from scripts.demo import dbt, load_all_sources

    path = work / "warehouse.duckdb"
    os.environ.update({"WAREHOUSE_PATH": str(path), "PIPELINES_DIR": str(work / "dlt"), "PIPELINE_DESTINATION": "duckdb"})
    life = LifeConfig(seed=7, start=date(2021, 1, 1), days=365 * years + years // 4)
    started = time.perf_counter()
    with SandboxServer(SandboxConfig(life=life, fitbit_heart_rate_interval=heart_rate_interval)) as server:
        load_all_sources(server, work)
    print(f"dbt build: {dbt('build', '--vars', '{data_origin: synthetic sandbox}', '--target-path', str(work / 'dbt'))}")
    return path, time.perf_counter() - started


def time_pages(path: Path, rounds: int) -> dict[str, tuple[float, float]]:
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # AppTest logs "no runtime" once per render
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["DASHBOARD_WAREHOUSE_PATH"] = str(path)
    timings: dict[str, tuple[float, float]] = {}
    # one untimed render first: importing pandas/plotly/duckdb is paid once when the server starts, not per page
    AppTest.from_file(str(APP), default_timeout=120).run()
    for page in PAGES:
        cold, warm = [], []
        for _ in range(rounds):
            st.cache_data.clear()
            at = AppTest.from_file(str(APP), default_timeout=120)
            at.session_state["page"] = page
            started = time.perf_counter()
            at.run()
            cold.append(time.perf_counter() - started)
            assert not at.exception, [e.message for e in at.exception]
            assert at.header[0].value.startswith(page if page != "Pipeline" else "Pipeline runs")
            started = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - started)
        timings[page] = (min(cold), min(warm))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--heart-rate-interval", type=int, default=60,
                        help="mean seconds between heart-rate samples in the export (pages read daily marts only)")
    parser.add_argument("--rounds", type=int, default=3, help="renders per page; the best is reported")
    parser.add_argument("--warehouse", type=Path, help="time an existing warehouse instead of building one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        if args.warehouse:
            path, build = args.warehouse, 0.0
        else:
            path, build = build_warehouse(Path(tmp), args.years, args.heart_rate_interval)
            print(f"built a {args.years}-year warehouse ({path.stat().st_size / 1e6:.0f} MB) in {build:.0f} s")
        timings = time_pages(path, args.rounds)
    print(f"\npage render times (best of {args.rounds}; target < {TARGET_SECONDS:.0f} s)")
    print(f"  {'page':<15}{'cold cache':>12}{'warm cache':>12}   cold/target")
    for page, (cold, warm) in timings.items():
        print(f"  {page:<15}{cold:>10.2f} s{warm:>10.2f} s   {cold / TARGET_SECONDS:>6.2f}x")
    slowest = max(timings, key=lambda p: timings[p][0])
    verdict = "within" if timings[slowest][0] < TARGET_SECONDS else "OVER"
    print(f"slowest page: {slowest} at {timings[slowest][0]:.2f} s cold, {verdict} the {TARGET_SECONDS:.0f} s target")


if __name__ == "__main__":
    main()

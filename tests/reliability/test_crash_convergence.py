"""Crash convergence (issue 14, item 5): a run SIGKILLed at any point, then run again, leaves the raw tables
exactly as one clean run does, with no duplicate keys, and the ledger says which run crashed where.

Each source runs as `python -m pipelines.<source>` against a small synthetic life. The runner's test knob
`PIPELINE_TEST_KILL_AT` kills the process mid-extract (first extracted item), mid-normalize (first normalized
file), mid-load (first completed load job, others pending) or right after the load finished (before the ledger
row). Scenarios run side by side, each with its own warehouse; a clean run is the reference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from tests.reliability.conftest import source_env
from tests.reliability.harness import REPO, Outcome, fingerprint, ledger_rows, run_cli, warehouse_env

KILL_POINTS = ("extract", "normalize", "load", "loaded")
# the step the ledger says a run was in when it died at each point
STEP_AT = {"extract": "extract", "normalize": "normalize", "load": "load", "loaded": "load"}
SOURCES = ("notion", "hubspot", "fitbit_export")


def _scenario(source: str, env: dict[str, str], folder, kill_at: str | None) -> tuple[Outcome | None, Outcome]:
    where = {**env, **warehouse_env(folder)}
    killed = run_cli(source, where, kill_at=kill_at) if kill_at else None
    return killed, run_cli(source, where)


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES)
def test_a_killed_run_then_a_rerun_equals_one_clean_run(source, request, tmp_path, small_sandbox, small_export,
                                                        clean_env):
    env = source_env(source, small_sandbox, small_export)
    points = (None, *KILL_POINTS)
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {p: pool.submit(_scenario, source, env, tmp_path / (p or "clean"), p) for p in points}
        outcomes = {p: f.result() for p, f in futures.items()}

    _, clean = outcomes[None]
    assert clean.returncode == 0, clean.output
    reference = fingerprint(tmp_path / "clean" / "warehouse.duckdb", source)
    assert reference and sum(t.rows for t in reference.values()) > 0, reference
    assert all(t.duplicate_keys == 0 for t in reference.values())
    (clean_row,) = ledger_rows(tmp_path / "clean" / "warehouse.duckdb", source)
    compared = 0
    for point in KILL_POINTS:
        killed, rerun = outcomes[point]
        assert killed.killed, f"{point}: the run was not killed (rc {killed.returncode}):\n{killed.output[-2000:]}"
        assert rerun.returncode == 0, f"{point}: the rerun failed:\n{rerun.output[-3000:]}"
        path = tmp_path / point / "warehouse.duckdb"
        after = fingerprint(path, source)
        assert after == reference, f"killed at {point}: raw tables differ from a clean run"
        compared += sum(t.rows for t in after.values())

        crashed, last = ledger_rows(path, source)
        assert crashed["status"] == "crashed" and crashed["failed_step"] == STEP_AT[point], crashed
        assert "is gone" in crashed["error_summary"]
        assert last["status"] == "success"
        if point == "load":
            # the package the killed run was loading is finished by the rerun and counted in its row
            assert json.loads(last["resumed_load_ids"]) and last["resumed_rows"] == clean_row["total_rows"], last
            assert last["total_rows"] == clean_row["total_rows"]
        elif point == "loaded":
            assert json.loads(last["resumed_load_ids"]) == [] and last["total_rows"] == 0, last
        else:
            # died before anything reached the dataset: dlt discards the never-loaded pipeline and starts over
            # (test_ledger_recovery covers finishing a pending package on a warehouse that has data)
            assert last["total_rows"] == clean_row["total_rows"], last
    request.node.user_properties.append(("kills", len(KILL_POINTS)))
    request.node.user_properties.append(("rows_compared", compared))


@pytest.mark.slow
def test_a_load_job_that_committed_but_was_not_recorded_is_not_loaded_twice(tmp_path, small_sandbox, clean_env):
    """The window dlt cannot close: a job's INSERT into the staging dataset has committed, the process dies before
    the job is recorded as completed (dlt records it after closing the connection), and the resume runs it again.
    Simulated exactly: killed after the 5th completed load job (the page table's job done, its merge not yet run),
    then the page tables' completed jobs are put back to `started`, as if their completion had never been
    recorded. Without the runner's restart of unfinished merges the pages land twice."""
    env = source_env("notion", small_sandbox)
    with ThreadPoolExecutor(max_workers=2) as pool:
        clean = pool.submit(run_cli, "notion", {**env, **warehouse_env(tmp_path / "clean")})
        killed = pool.submit(run_cli, "notion", {**env, **warehouse_env(tmp_path / "crash")}, "load:5").result()
        assert clean.result().returncode == 0
    assert killed.killed, killed.output
    (package,) = (tmp_path / "crash" / "dlt_pipelines" / "notion" / "load" / "normalized").iterdir()
    # the data files' jobs (Parquet on DuckDB), not the merge's SQL follow-up jobs
    unrecorded = [job for job in (package / "completed_jobs").glob("notion__habit_pages*")
                  if not job.name.endswith(".sql")]
    # the root table's job at least (its rows are the ones the merge cannot deduplicate)
    assert any(p.name.startswith("notion__habit_pages.") for p in unrecorded), \
        sorted(p.name for p in package.rglob("*_jobs/*"))
    for job in unrecorded:
        job.rename(package / "started_jobs" / job.name)

    rerun = run_cli("notion", {**env, **warehouse_env(tmp_path / "crash")})
    assert rerun.returncode == 0, rerun.output
    after = fingerprint(tmp_path / "crash" / "warehouse.duckdb", "notion")
    assert after["notion__habit_pages"].duplicate_keys == 0
    assert after == fingerprint(tmp_path / "clean" / "warehouse.duckdb", "notion")


def test_an_appended_table_is_started_over_not_loaded_twice(tmp_path, clean_env):
    """Appended tables load straight into the dataset: the resume deletes the package's rows (by _dlt_load_id)
    and loads the table's jobs again, instead of running an unrecorded job a second time."""
    probe = Path(__file__).with_name("append_probe.py")
    env = {**os.environ, **warehouse_env(tmp_path), "PYTHONPATH": str(REPO)}
    killed = subprocess.run([sys.executable, str(probe)], env={**env, "PIPELINE_TEST_KILL_AT": "load:3"},
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr
    (package,) = (tmp_path / "dlt_pipelines" / "appendprobe" / "load" / "normalized").iterdir()
    unrecorded = list((package / "completed_jobs").glob("appendprobe__*"))
    assert len(unrecorded) == 2, sorted(p.name for p in package.rglob("*_jobs/*"))
    for job in unrecorded:
        job.rename(package / "started_jobs" / job.name)
    for marker in (package / ".pending_transitions").glob("appendprobe__*"):
        marker.unlink()

    rerun = subprocess.run([sys.executable, str(probe)], env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "finished 1 load package(s) an earlier run left pending" in rerun.stdout
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*), count(distinct id) from raw.appendprobe__events").fetchone() == (100, 100)
        assert con.execute("select count(*) from raw.appendprobe__more").fetchone() == (50,)
    finally:
        con.close()

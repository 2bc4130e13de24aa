"""The run ledger after crashes and locks (issue 14, item 2).

- a run writes `running` at its start; the next run closes it as `crashed` (its process is gone, or it is older
  than RUN_LEDGER_STALE_HOURS), saying which step it died in;
- a rerun finishes the package a killed run left pending, counts those rows in its own ledger row, and still
  extracts what is new in the same run (dlt's `pipeline.run` would load the package and stop there);
- a run failing on the DuckDB lock is recorded by the next run, with the reason (its row waited in a local queue).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from pipelines.common import run_ledger
from pipelines.common.full_refresh import RunMode
from tests.reliability.conftest import source_env
from tests.reliability.harness import ledger_rows, run_cli, run_in_process, warehouse_env

SLEEP = "Sleep hours"


def _sleep_hours(path, page_id: str) -> str | None:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("select value_text from raw.notion__habit_pages__properties where page_id = ? "
                          "and property_name = ?", [page_id, SLEEP]).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def test_a_rerun_finishes_the_pending_package_and_still_extracts_new_data(fresh_sandbox, tmp_path, clean_env):
    env = {**source_env("notion", fresh_sandbox), **warehouse_env(tmp_path)}
    path = tmp_path / "warehouse.duckdb"
    store = fresh_sandbox.sandbox.notion
    daily = next(ds for ds in store.ws.data_sources.values() if any(p.name == SLEEP for p in ds.properties.values()))
    first_page, second_page = [p for p in store.ws.pages.values()
                               if p.data_source_id == daily.id and not p.in_trash][:2]
    assert run_cli("notion", env).returncode == 0

    store.edit_page(first_page.id, {SLEEP: 11.5})
    killed = run_cli("notion", env, kill_at="normalize")  # the edit is extracted, then the process dies
    assert killed.killed, killed.output
    store.edit_page(second_page.id, {SLEEP: 3.5})  # new while the package waits

    rerun = run_cli("notion", env)
    assert rerun.returncode == 0, rerun.output
    assert _sleep_hours(path, first_page.id) == "11.5", "the pending package was loaded"
    assert _sleep_hours(path, second_page.id) == "3.5", "new data was extracted in the same run"
    assert "finished 1 load package(s) an earlier run left pending" in rerun.stdout

    first, crashed, last = ledger_rows(path, "notion")
    assert first["status"] == "success"
    assert crashed["status"] == "crashed" and crashed["failed_step"] == "normalize"
    assert f"pid {crashed['pid']} on {socket.gethostname()}) is gone" in crashed["error_summary"]
    assert crashed["finished_at"] is None
    assert last["status"] == "success"
    resumed = json.loads(last["resumed_load_ids"])
    assert len(resumed) == 1 and resumed[0] in json.loads(last["load_ids"])
    per_table = json.loads(last["rows_per_table"])
    # one edited page (and its properties) from the pending package, one from this run's own extract
    assert per_table["notion__habit_pages"] == 2
    assert last["resumed_rows"] == 1 + per_table["notion__habit_pages__properties"] // 2
    assert last["total_rows"] == sum(per_table.values())


def test_stale_running_rows_are_closed_as_crashed_and_live_ones_are_left_alone(
        fresh_sandbox, tmp_path, clean_env):
    for k, v in {**source_env("notion", fresh_sandbox), **warehouse_env(tmp_path),
                 "RUN_LEDGER_STALE_HOURS": "1"}.items():
        clean_env.setenv(k, v)
    path = tmp_path / "warehouse.duckdb"
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    try:
        now = datetime.now(UTC)
        here = socket.gethostname()

        def running(run_id: str, host: str, pid: int, minutes_ago: float) -> dict:
            run = run_ledger.LedgerRun(source="notion", mode=RunMode(False, "test"), run_id=run_id,
                                       started_at=now - timedelta(minutes=minutes_ago))
            return {**run_ledger.build_row(run, "running", None), "host": host, "pid": pid}

        planted = [running("other-host-old", "runner-1", 7, 120), running("other-host-recent", "runner-2", 7, 10),
                   running("this-host-alive", here, alive.pid, 5), running("this-host-gone", here, gone.pid, 5),
                   running("this-host-alive-but-old", here, alive.pid, 90)]
        run_ledger.write_row(planted[0])
        for row in planted[1:]:
            run_ledger.write_row(row)
        assert run_in_process("notion") == 0
    finally:
        alive.kill()
        alive.wait()
    status = {r["run_id"]: (r["status"], r["error_summary"]) for r in ledger_rows(path, "notion")}
    assert status["other-host-old"][0] == "crashed" and "still marked running after 1:00:00" in status["other-host-old"][1]
    assert status["other-host-recent"] == ("running", None)
    assert status["this-host-alive"] == ("running", None)
    assert status["this-host-gone"][0] == "crashed" and f"pid {gone.pid} on {here}) is gone" in status["this-host-gone"][1]
    assert status["this-host-alive-but-old"][0] == "crashed"
    assert sorted(s for s, _ in status.values()).count("success") == 1


def test_a_run_failing_on_the_duckdb_lock_is_recorded_by_the_next_run(fresh_sandbox, tmp_path, clean_env, capsys):
    for k, v in {**source_env("notion", fresh_sandbox), **warehouse_env(tmp_path)}.items():
        clean_env.setenv(k, v)
    path = tmp_path / "warehouse.duckdb"
    assert run_in_process("notion") == 0
    capsys.readouterr()
    # dbt, the dashboard or a notebook holding the file: DuckDB allows one writer process
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}); "
                               "print('locked', flush=True); time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        assert run_in_process("notion") == 1
        assert time.monotonic() - started < 60
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    failure = next(line for line in err.splitlines() if "FAILED" in line)
    assert f"the warehouse {path} is " in failure and "another process" in failure and "lock" in failure
    assert "run ledger not written" in err and "the next run writes it" in err
    queue = json.loads((tmp_path / "dlt_pipelines" / "run_ledger_local" / "notion.json").read_text())["queued"]
    (queued,) = queue.values()
    assert queued["status"] == "failed" and failure.endswith(queued["error_summary"])

    assert run_in_process("notion") == 0
    first, locked, last = ledger_rows(path, "notion")
    assert (first["status"], locked["status"], last["status"]) == ("success", "failed", "success")
    assert locked["run_id"] == queued["run_id"] and locked["error_summary"] == queued["error_summary"]
    assert locked["failed_step"] in ("preflight", "restore_state")  # refused by the warehouse check or by dlt
    assert json.loads((tmp_path / "dlt_pipelines" / "run_ledger_local" / "notion.json").read_text())["queued"] == {}
    assert os.environ.get("PIPELINE_TEST_KILL_AT") is None

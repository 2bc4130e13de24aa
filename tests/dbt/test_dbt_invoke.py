"""scripts/dbt_invoke.py: dbt in this process leaves the process as a dbt subprocess would have.

The suite, `make dbt-build` and the demo run dbt through it; what a process exit gave for free must hold after
every call: the warehouse file is closed (another process can open it for writing), the caller's environment
and working directory are back, and the exit code says what the CLI's would.
"""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb

from scripts.dbt_invoke import DBT_DIR, invoke

ARGS = ("--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--target", "dev")


def test_a_call_closes_the_warehouse_and_restores_environment_and_cwd(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("WAREHOUSE_PATH", "/nowhere/else.duckdb")
    cwd = os.getcwd()
    env = {**os.environ, "WAREHOUSE_PATH": str(warehouse), "DBT_TARGET_PATH": str(tmp_path / "target"),
           "DBT_LOG_PATH": str(tmp_path / "logs")}
    result = invoke(["run", "--select", "dim_date", *ARGS], env=env, capture=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Completed successfully" in result.stdout  # dbt's own lines, captured
    assert os.environ["WAREHOUSE_PATH"] == "/nowhere/else.duckdb" and os.getcwd() == cwd
    # another process may write to the file: dbt-duckdb's process-wide database is closed, not just forgotten
    writer = subprocess.run([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                             "print(c.execute('select count(*) from marts.dim_date').fetchall()[0][0]); "
                             "c.execute('create table marts.touched as select 1 as x'); c.close()", str(warehouse)],
                            capture_output=True, text=True, timeout=120)
    assert writer.returncode == 0, writer.stderr
    assert int(writer.stdout) > 365
    con = duckdb.connect(str(warehouse), read_only=True)  # and this process sees what the other one wrote
    try:
        assert con.execute("select x from marts.touched").fetchall() == [(1,)]
    finally:
        con.close()


def test_exit_codes_are_the_clis(tmp_path):
    env = {**os.environ, "WAREHOUSE_PATH": str(tmp_path / "w.duckdb"), "DBT_TARGET_PATH": str(tmp_path / "target"),
           "DBT_LOG_PATH": str(tmp_path / "logs")}
    # a data test on a source table that was never loaded fails: exit 1, as `dbt test` says
    failed = invoke(["test", "--select", "source:notion", *ARGS], env=env, capture=True)
    assert failed.returncode == 1, failed.stdout[-3000:]
    # dbt cannot start (a profiles folder without profiles.yml): exit 2, and the reason is in the output
    (tmp_path / "empty").mkdir()
    broken = invoke(["run", "--project-dir", str(DBT_DIR), "--profiles-dir", str(tmp_path / "empty")], env=env,
                    capture=True)
    assert broken.returncode == 2
    assert "Could not find profile named 'personal_data'" in broken.stdout + broken.stderr, broken

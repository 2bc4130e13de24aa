"""Issue 13.2: demo/sandbox data and a real account's data never share a warehouse, and a sandbox cursor never
stands in for real history. (The demo's own warehouse, end to end, is step 1 of test_onboarding's walkthrough.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.common import warehouse_guard
from pipelines.common.errors import SourceError
from pipelines.common.runner import run_source
from pipelines.common.settings import pipelines_dir
from pipelines.notion import notion_source
from sandbox.app import SandboxConfig
from sandbox.life import LifeConfig
from sandbox.server import SandboxServer

REPO = Path(__file__).resolve().parents[2]
SMALL_LIFE = LifeConfig(seed=3, start=date(2025, 5, 1), days=30)
pytestmark = pytest.mark.slow
REAL_NOTION = {"SOURCES__NOTION__API_BASE_URL": "https://api.notion.com/v1",
               "SOURCES__NOTION__API_TOKEN": "ntn_real_looking_token_0000",
               "SOURCES__NOTION__DATABASES": '{"daily": "0123456789abcdef0123456789abcdef"}'}


@pytest.fixture
def sandbox_env(warehouse, monkeypatch):
    with SandboxServer(SandboxConfig(life=SMALL_LIFE)) as server:
        for name, value in server.pipeline_env().items():
            monkeypatch.setenv(name, value)
        yield server


def _env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(extra)
    return env


def test_origin_of_a_run_comes_from_its_base_url(monkeypatch):
    for host in ("127.0.0.1", "localhost", "127.0.0.2", "::1", "[::1]", "app.localhost"):
        assert warehouse_guard.is_local_host(host), host
    for host in ("api.notion.com", "api.hubapi.com", "10.0.0.5", "example.org"):
        assert not warehouse_guard.is_local_host(host), host
    monkeypatch.setenv("SOURCES__HUBSPOT__API_BASE_URL", "http://127.0.0.1:8787/hubspot")
    assert warehouse_guard.run_origin("hubspot") == ("sandbox", "127.0.0.1")
    monkeypatch.delenv("SOURCES__HUBSPOT__API_BASE_URL")
    assert warehouse_guard.run_origin("hubspot") == ("real", "api.hubapi.com")  # the default in .dlt/config.toml
    monkeypatch.setenv("SOURCES__FITBIT_EXPORT__PATH", "/nowhere/takeout.zip")
    assert warehouse_guard.run_origin("fitbit_export") is None  # a file: cannot be told, never refused


def test_real_run_into_a_sandbox_warehouse_is_refused_in_one_line(sandbox_env, warehouse):
    run_source("notion", notion_source)
    pages, runs = warehouse.count("raw.notion__habit_pages"), warehouse.count("ops.pipeline_runs")
    assert warehouse.query("select origin, source, host from ops.warehouse_origin") == [
        ("sandbox", "notion", "127.0.0.1")]

    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "pipelines.notion"], cwd=REPO, env=_env(**REAL_NOTION),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "refused" in lines[0] and "sandbox (synthetic) data" in lines[0] and "api.notion.com" in lines[0]
    assert "`make clean-warehouse`" in lines[0]
    assert time.monotonic() - started < 30  # refused before any request (there is no network here anyway)
    # nothing touched: no rows, no ledger row, no stamp for the real host
    assert warehouse.count("raw.notion__habit_pages") == pages
    assert warehouse.count("ops.pipeline_runs") == runs
    assert {o for (o,) in warehouse.query("select origin from ops.warehouse_origin")} == {"sandbox"}


def test_a_demo_warehouse_from_before_the_stamp_is_recognised(warehouse, monkeypatch):
    con = duckdb.connect(str(warehouse.path))
    try:
        con.execute("create schema marts")
        con.execute("create table marts.warehouse_info as select 'synthetic sandbox' as data_origin")
    finally:
        con.close()
    for name, value in REAL_NOTION.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SourceError, match="holds sandbox .* `make clean-warehouse`"):
        warehouse_guard.check_warehouse_origin("notion")


def test_a_sandbox_run_never_writes_into_a_real_warehouse(warehouse, monkeypatch, sandbox_env):
    # a real run stamped this warehouse (the check is the same one every run starts with)
    with monkeypatch.context() as real:
        for name, value in REAL_NOTION.items():
            real.setenv(name, value)
        warehouse_guard.check_warehouse_origin("notion")
    assert warehouse.query("select origin, host from ops.warehouse_origin") == [("real", "api.notion.com")]

    with pytest.raises(SourceError, match=r"holds real data \(from api.notion.com\).*WAREHOUSE_PATH="):
        run_source("notion", notion_source)
    # the sandbox left no cursor behind: no dlt state for notion in this warehouse's working dir, no raw rows
    assert not (pipelines_dir() / "notion").exists()
    assert not warehouse.query("select * from information_schema.tables where table_schema = 'raw'")


def test_a_shared_dlt_working_dir_never_carries_sandbox_cursors_to_another_warehouse(sandbox_env, warehouse,
                                                                                      monkeypatch, tmp_path):
    # `WAREHOUSE_PATH=data/sandbox.duckdb make notion` with a PIPELINES_DIR the user exported for everything
    run_source("notion", notion_source)
    assert (pipelines_dir() / "notion").exists()
    real = tmp_path / "real.duckdb"
    monkeypatch.setenv("WAREHOUSE_PATH", str(real))
    for name, value in REAL_NOTION.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SourceError, match=r"dlt's state in .* belongs to the warehouse .*warehouse.duckdb.*PIPELINES_DIR"):
        run_source("notion", notion_source)
    assert not real.exists()  # refused before anything touched it
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "real-dlt"))
    warehouse_guard.check_warehouse_origin("notion")  # its own working dir: accepted


def test_the_demo_never_shares_a_warehouse_or_cursor_with_real_runs(monkeypatch, tmp_path):
    from scripts import demo

    # a user who set their own warehouse and dlt working dir in the shell
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "mine.duckdb"))
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "my-dlt"))
    monkeypatch.setenv("PIPELINE_DESTINATION", "duckdb")
    monkeypatch.delenv("DEMO_WAREHOUSE_PATH", raising=False)
    monkeypatch.delenv("DEMO_PIPELINES_DIR", raising=False)
    real_state = pipelines_dir()
    warehouse, state = demo.use_demo_warehouse()
    assert warehouse == REPO / "data" / "demo.duckdb" and state == REPO / "data" / "demo.dlt"
    assert os.environ["WAREHOUSE_PATH"] == str(warehouse) and pipelines_dir() == state != real_state


def test_clean_warehouse_deletes_the_file_and_its_state_then_real_runs_pass(sandbox_env, warehouse, monkeypatch):
    run_source("notion", notion_source)
    state = pipelines_dir()
    assert state.exists()
    result = subprocess.run(["make", "--no-print-directory", "-o", "install", "clean-warehouse"], cwd=REPO,
                            env=_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"deleted {warehouse.path}" in result.stdout and "starts a clean warehouse" in result.stdout
    assert not warehouse.path.exists() and not state.exists()
    for name, value in REAL_NOTION.items():
        monkeypatch.setenv(name, value)
    warehouse_guard.check_warehouse_origin("notion")  # a clean warehouse accepts the real account


def test_a_sandbox_export_is_kept_out_of_a_real_warehouse(warehouse, tmp_path, monkeypatch):
    from scripts.sandbox_export import write_sandbox_export

    export = write_sandbox_export(tmp_path / "export", days=20, heart_rate_interval=600)
    monkeypatch.setenv("SOURCES__FITBIT_EXPORT__PATH", str(export))
    assert warehouse_guard.run_origin("fitbit_export") == ("sandbox", "sandbox export")
    with monkeypatch.context() as real:
        for name, value in REAL_NOTION.items():
            real.setenv(name, value)
        warehouse_guard.check_warehouse_origin("notion")
    with pytest.raises(SourceError, match="synthetic sandbox export"):
        warehouse_guard.check_warehouse_origin("fitbit_export")


def test_the_check_is_cheap(warehouse, monkeypatch):
    monkeypatch.setenv("SOURCES__HUBSPOT__API_BASE_URL", "http://127.0.0.1:1/hubspot")
    warehouse_guard.check_warehouse_origin("hubspot")  # creates the file and stamps it
    started = time.monotonic()
    for _ in range(5):
        warehouse_guard.check_warehouse_origin("hubspot")
    assert (time.monotonic() - started) / 5 < 0.5


def test_a_locked_warehouse_is_one_line_and_keeps_duckdbs_reason(warehouse, monkeypatch):
    monkeypatch.setenv("SOURCES__HUBSPOT__API_BASE_URL", "http://127.0.0.1:1/hubspot")
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(60)", str(warehouse.path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SourceError, match="in use by another process") as caught:
            warehouse_guard.check_warehouse_origin("hubspot")
    finally:
        holder.kill()
        holder.wait()
    assert "lock" in str(caught.value.__cause__).lower()  # the run ledger recognises a lock by DuckDB's own words

"""Issue 13.1: a full refresh rebuilds the tables in `raw`, from every entry point, and dlt never sees FULL_REFRESH.

`make notion FULL_REFRESH=1` used to export FULL_REFRESH=1 to the pipeline; dlt read it as its deprecated
`full_refresh` (dev mode) option and loaded into `raw_<timestamp>` while the log said "dataset 'raw'", and the
ledger (another dlt pipeline) went to `ops_<timestamp>`. Each entry point below also runs with a stray
FULL_REFRESH=1 (and DEV_MODE=true) in the environment, as an exported shell variable would leave it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from pipelines.common.runner import run_source
from pipelines.notion import notion_source
from sandbox.app import SandboxConfig
from sandbox.life import LifeConfig
from sandbox.server import SandboxServer

REPO = Path(__file__).resolve().parents[2]
SMALL_LIFE = LifeConfig(seed=7, start=date(2025, 3, 1), days=30)
PAGES = "raw.notion__habit_pages"
DEV_MODE_DATASET = re.compile(r"^(raw|ops)_\d{8}")  # dlt dev mode: <dataset>_<timestamp>
STRAY = {"FULL_REFRESH": "1", "DEV_MODE": "true"}
pytestmark = pytest.mark.slow


@pytest.fixture
def loaded(warehouse, monkeypatch):
    """A small sandbox, Notion loaded once incrementally, and a row in raw that only a rebuild removes."""
    with SandboxServer(SandboxConfig(life=SMALL_LIFE)) as server:
        for name, value in server.pipeline_env().items():
            monkeypatch.setenv(name, value)
        run_source("notion", notion_source)
        server.loaded_pages = warehouse.count(PAGES)
        import duckdb

        con = duckdb.connect(str(warehouse.path))
        try:
            con.execute(f"insert into {PAGES} (page_id, _dlt_load_id, _dlt_id) "
                        "select 'stale-page', _dlt_load_id, 'stale-row' from " + PAGES + " limit 1")
        finally:
            con.close()
        yield server, warehouse


def subprocess_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(extra)
    return env


def assert_rebuilt_in_raw(warehouse, server, reason_part: str) -> None:
    schemas = {s for (s,) in warehouse.query("select schema_name from information_schema.schemata")}
    assert not [s for s in schemas if DEV_MODE_DATASET.match(s)], f"dlt dev mode dataset created: {schemas}"
    assert warehouse.scalar(f"select count(*) from {PAGES} where page_id = 'stale-page'") == 0, "not rebuilt"
    assert warehouse.count(PAGES) == server.loaded_pages
    mode, reason, status, dataset = warehouse.query(
        "select mode, mode_reason, status, dataset from ops.pipeline_runs order by started_at desc limit 1")[0]
    assert (mode, status, dataset) == ("full_refresh", "success", "raw")
    assert reason_part in reason
    assert warehouse.count("ops.pipeline_runs") == 2


def test_make_target_with_full_refresh_1(loaded):
    server, warehouse = loaded
    result = subprocess.run(["make", "--no-print-directory", "-o", "install", "notion", "FULL_REFRESH=1"],
                            cwd=REPO, env=subprocess_env({"DEV_MODE": "true"}), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mode: full refresh (--full-refresh given)" in result.stdout
    assert "dataset 'raw'" in result.stdout
    assert_rebuilt_in_raw(warehouse, server, "--full-refresh")


def test_make_target_with_full_refresh_0_is_incremental(loaded):
    server, warehouse = loaded
    result = subprocess.run(["make", "--no-print-directory", "-o", "install", "notion", "FULL_REFRESH=0"],
                            cwd=REPO, env=subprocess_env({}), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mode: incremental" in result.stdout
    assert warehouse.scalar(f"select count(*) from {PAGES} where page_id = 'stale-page'") == 1


def test_cli_flag(loaded):
    server, warehouse = loaded
    result = subprocess.run([sys.executable, "-m", "pipelines.notion", "--full-refresh"], cwd=REPO,
                            env=subprocess_env(STRAY), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ignoring FULL_REFRESH=1" in result.stderr  # said once, never silently acted on
    assert_rebuilt_in_raw(warehouse, server, "--full-refresh")


@pytest.mark.parametrize("variable", ["NOTION_FULL_REFRESH", "FORCE_FULL_REFRESH"])
def test_environment_variables(loaded, monkeypatch, variable):
    server, warehouse = loaded
    for name, value in {**STRAY, variable: "1"}.items():
        monkeypatch.setenv(name, value)
    report = run_source("notion", notion_source)
    assert report.mode.full_refresh and variable in report.mode.reason
    assert "FULL_REFRESH" not in os.environ and "DEV_MODE" not in os.environ
    assert_rebuilt_in_raw(warehouse, server, variable)


def test_stray_full_refresh_alone_is_incremental_in_raw(loaded, monkeypatch):
    server, warehouse = loaded
    for name, value in {**STRAY, "PIPELINES__NOTION__FULL_REFRESH": "true", "PIPELINES__DEV_MODE": "1"}.items():
        monkeypatch.setenv(name, value)
    report = run_source("notion", notion_source)
    assert not report.mode.full_refresh
    schemas = {s for (s,) in warehouse.query("select schema_name from information_schema.schemata")}
    assert not [s for s in schemas if DEV_MODE_DATASET.match(s)]
    assert warehouse.count("ops.pipeline_runs") == 2
    assert warehouse.scalar(f"select count(*) from {PAGES} where page_id = 'stale-page'") == 1

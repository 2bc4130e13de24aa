"""Shared fixtures: a running sandbox, a throwaway DuckDB warehouse, and real dbt runs against it."""

from __future__ import annotations

import contextlib
import fcntl
import gc
import io
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from sandbox.app import SandboxConfig
from sandbox.life import LifeConfig
from sandbox.server import SandboxServer
from scripts.dbt_invoke import environment, invoke
from tests.dbt_cache import warm_dbt

REPO = Path(__file__).resolve().parents[1]
DBT_DIR = REPO / "dbt"
# a fixed synthetic year keeps counts reproducible; tests derive expectations from the generator
TEST_LIFE = LifeConfig(seed=42, start=date(2025, 1, 1), days=365)


def pytest_configure(config):
    """Each xdist worker (and a plain run) gets its own dbt target and log folders, so parallel dbt runs
    never share partial-parse state or run results; every dbt subprocess inherits them."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    os.environ["DBT_TARGET_PATH"] = str(DBT_DIR / "target" / f"pytest-{worker}")
    os.environ["DBT_LOG_PATH"] = str(DBT_DIR / "logs" / f"pytest-{worker}")
    # no debug file log unless asked for (DBT_LOG_LEVEL_FILE=debug make test): no test reads it, and writing it
    # cost dbt 6-15 % of its CPU per build (the same build alternated in one process); failures show dbt's output
    os.environ.setdefault("DBT_LOG_LEVEL_FILE", "none")
    # a worker's heap holds dbt manifests, sandboxes and dlt schemas (0.5-2 M objects), and Python's default
    # thresholds ran a full collection of it 40-75 times in a few minutes of tests. Fewer, larger young
    # collections and a tenth of the full ones: on tests/dbt + tests/reliability, alternated two by two on
    # 2026-12-02, the workers' collections took 13-14 s instead of 34-38 s, pytest 166-167 s instead of 176-179 s,
    # and the largest worker 720 MB instead of 565 MB. Nothing the suite tests depends on when garbage is collected.
    gc.set_threshold(20_000, 10, 100)


# whole folders whose every test runs dbt, a database server or a browser
SLOW_FOLDERS = ("dbt", "destinations", "dashboard", "reliability")


# files elsewhere whose tests each run a pipeline end to end (seconds per test, minutes per file)
SLOW_FILES = ("pipelines/test_notion.py", "pipelines/test_hubspot.py", "pipelines/test_hubspot_paging.py",
              "pipelines/test_fitbit.py", "pipelines/test_fitbit_export.py", "pipelines/test_fitbit_export_activity.py",
              "ops/test_run_ledger.py", "ops/test_secrets.py")


# the longest files, longest first (measured with --durations=0): `--dist loadfile` hands files to the workers in
# collection order, so these start at once and the short files fill in around them, instead of a 6-minute
# emulator test starting last while the other worker idles. The emulator test builds the reference warehouse
# (tests/fixtures/reference_warehouse.py) first thing, before the Postgres and dashboard tests ask for it.
LONGEST_FIRST = ("destinations/test_bigquery_emulator.py", "dbt/test_dbt_build_script.py", "pipelines/test_hubspot.py",
                 "ops/test_onboarding.py", "dbt/test_health_marts.py", "pipelines/test_notion.py",
                 "pipelines/test_fitbit.py", "pipelines/test_fitbit_export.py", "reliability/test_crash_convergence.py",
                 "dbt/test_ops_marts.py", "ops/test_run_ledger.py", "destinations/test_postgres.py",
                 "dashboard/test_pages.py")


def pytest_collection_modifyitems(config, items):
    """`make check` runs `-m "not slow"`: the folders and files above are slow as a whole; elsewhere tests mark
    themselves. The longest files go first (LONGEST_FIRST); the rest keep their order."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def relative(item) -> str:
        return "/".join(Path(str(item.fspath)).relative_to(REPO / "tests").parts)

    for item in items:
        parts = Path(str(item.fspath)).relative_to(REPO / "tests").parts
        if parts and (parts[0] in SLOW_FOLDERS or "/".join(parts) in SLOW_FILES):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: rank.get(relative(item), len(rank)))


@pytest.fixture(autouse=True)
def one_process_of_secrets(monkeypatch):
    """Each test starts with the secrets registry of a fresh process, as every real run has: a worker that kept
    every test's secrets redacted each line against thousands of them (and recompiled that pattern per run)."""
    from pipelines.common import redaction

    monkeypatch.setattr(redaction, "_registry", redaction._Registry())


# behaviour, not volume: two quarters reach every case of the pipeline tests (90-day windows, result caps, a
# quarter boundary, monthly and weekly databases) at a sixth of a year's requests and rows
SHORT_LIFE = LifeConfig(seed=42, start=date(2025, 1, 1), days=181)


@pytest.fixture
def sandbox_life() -> LifeConfig:
    """The synthetic life `sandbox_server` serves; a test module overrides it (e.g. with SHORT_LIFE)."""
    return TEST_LIFE


@pytest.fixture
def sandbox_server(sandbox_life):
    """A fresh sandbox per test (generation takes ~50 ms), so tests may edit, trash and rename freely."""
    with SandboxServer(SandboxConfig(life=sandbox_life)) as server:
        yield server


@dataclass
class Warehouse:
    """A DuckDB file in a temp dir; every query opens and closes its own connection (DuckDB locks the file)."""

    path: Path

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def scalar(self, sql: str, params: list | None = None):
        return self.query(sql, params)[0][0]

    def count(self, table: str) -> int:
        return self.scalar(f"select count(*) from {table}")


@pytest.fixture
def warehouse(tmp_path, monkeypatch) -> Warehouse:
    """Points pipelines and dbt at a temp DuckDB file with its own dlt working dir."""
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("WAREHOUSE_PATH", str(path))
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "dlt_pipelines"))
    monkeypatch.setenv("PIPELINE_DESTINATION", "duckdb")
    for var in ("FORCE_FULL_REFRESH", "NOTION_FULL_REFRESH", "HUBSPOT_FULL_REFRESH", "FITBIT_FULL_REFRESH", "FITBIT_EXPORT_FULL_REFRESH"):
        monkeypatch.delenv(var, raising=False)
    return Warehouse(path)


@pytest.fixture
def notion_env(sandbox_server, monkeypatch) -> SandboxServer:
    """Notion source config pointing at the sandbox (what a user puts in .dlt/config.toml + secrets.toml)."""
    for name, value in sandbox_server.pipeline_env().items():
        if name.startswith("SOURCES__NOTION__"):
            monkeypatch.setenv(name, value)
    return sandbox_server


@pytest.fixture
def ledger_off(monkeypatch):
    """For modules that test what a source loads, not the run ledger (tests/ops/test_run_ledger.py, tests/reliability
    and the ops marts do): each ledger write is a dlt run of its own, about 1 s, twice per pipeline run, a third of
    such a test's time. Subprocesses the test starts inherit it. Use: `pytestmark = pytest.mark.usefixtures(...)`."""
    monkeypatch.setenv("RUN_LEDGER", "off")


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder that `build(folder)` fills once per session, shared by every xdist worker: the first worker to
    ask builds it under a lock while the others wait, then everyone reads the same files (DuckDB opens them
    read-only from several processes). A build that raised leaves no marker, so the next caller retries."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # .../pytest-N/popen-gwK -> the session's folder, shared by the workers
    folder, done = root / f"shared-{name}", root / f"shared-{name}.done"
    with open(root / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                folder.mkdir(exist_ok=True)
                build(folder)
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder


def run_dbt(*args: str, target: str = "dev", check: bool = True) -> subprocess.CompletedProcess:
    """Real dbt with our profiles.yml, in this worker's process (scripts/dbt_invoke.py: dbt's imports are paid
    once per worker, not per call; the DuckDB file is closed after each call, as a process exit would)."""
    cmd = [*args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--target", target]
    with warm_dbt(cmd, {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}) as env:
        result = invoke(cmd, env=env, cwd=DBT_DIR, capture=True)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return result


def run_main(main: Callable[[list[str]], int | None], argv: list[str], env: dict[str, str],
             cwd: Path = REPO) -> subprocess.CompletedProcess:
    """A script's `main(argv)` in this process, as `python -m <script> *argv` would run in a subprocess: with `env`
    as its whole environment and `cwd`, its output captured, its exit code (a SystemExit's too) returned."""
    out, err = io.StringIO(), io.StringIO()
    with environment(env, cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv) or 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
            if exit_.code is not None and not isinstance(exit_.code, int):
                print(exit_.code, file=sys.stderr)
    return subprocess.CompletedProcess(["main", *argv], code, out.getvalue(), err.getvalue())


from tests.fixtures.bigquery import *  # noqa: E402,F401,F403
from tests.fixtures.fitbit import *  # noqa: E402,F401,F403
from tests.fixtures.google_health import *  # noqa: E402,F401,F403
from tests.fixtures.hubspot import *  # noqa: E402,F401,F403
from tests.fixtures.ops_warehouse import ops_warehouse_built  # noqa: E402,F401
from tests.fixtures.postgres import *  # noqa: E402,F401,F403
from tests.fixtures.reference_warehouse import reference_warehouse  # noqa: E402,F401

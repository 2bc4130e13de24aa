"""dbt run in this process through its programmatic entry point (`dbtRunner`), not as a `dbt` subprocess per call.

A `dbt` process spends about 4 s importing itself before it reads the project (measured here: 3.3-4.2 s of each
call's wall time in the test suite, 5 s of CPU). `make dbt-build` and the demo make two dbt calls each, the test
suite about seventy: in one process the imports are paid once. dbt's own functional tests drive dbt this way.

What a subprocess gave for free is kept:
- the call's environment and working directory apply to that call only and are restored after it;
- its output can be captured (tests and scripts read dbt's lines), or goes to this process's stdout as dbt's would;
- dbt-duckdb keeps one DuckDB database open per process between calls (a class attribute). It is closed after
  every call, so the warehouse file is free for the pipelines and readers that come next, as after a process exit.
One call at a time: dbt's flags, adapters and event loggers are process-wide.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

DBT_DIR = Path(__file__).resolve().parents[1] / "dbt"
_ONE_AT_A_TIME = threading.Lock()


@contextlib.contextmanager
def environment(env: Mapping[str, str] | None, cwd: Path) -> Iterator[None]:
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


@contextlib.contextmanager
def _untraced() -> Iterator[None]:
    """Pause a coverage measurement (the test suite's `--cov`) for the call: under its line tracer dbt's own Python
    ran twice as slowly (one test: 24 s of CPU without it, 47 s with it), and dbt is not code we measure."""
    try:
        import coverage
    except ImportError:
        yield
        return
    measuring = coverage.Coverage.current()
    if measuring is None:
        yield
        return
    measuring.stop()
    try:
        yield
    finally:
        measuring.start()


def close_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the process (`DuckDBConnectionManager._ENV`): its own
    `close_all_connections` only drops the reference, which leaves the file locked until garbage collection."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager as manager
    except ImportError:  # dbt-duckdb not installed (a BigQuery-only runtime)
        return
    with manager._LOCK:
        if manager._ENV is not None:
            with contextlib.suppress(Exception):
                manager._ENV.close()
            manager._ENV = None


def invoke(args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path = DBT_DIR,
           capture: bool = False) -> subprocess.CompletedProcess:
    """`dbt *args` in this process: exit code 0 (success), 1 (a model or test failed) or 2 (dbt could not run),
    as the CLI's; stdout/stderr captured when `capture`, else written where this process writes."""
    out, err = io.StringIO(), io.StringIO()
    with _ONE_AT_A_TIME, environment(env, cwd), contextlib.ExitStack() as stack:
        if capture:  # before the call: dbt binds its log handlers to sys.stdout when each call starts
            stack.enter_context(contextlib.redirect_stdout(out))
            stack.enter_context(contextlib.redirect_stderr(err))
        try:
            with _untraced():
                from dbt.cli.main import dbtRunner  # dbt's imports untraced too (~4 s the first time)

                result = dbtRunner().invoke(list(args))
        finally:
            close_duckdb()
    if result.success:
        code = 0
    else:
        code = 2 if result.exception is not None else 1
        if result.exception is not None and capture:
            err.write(f"{type(result.exception).__name__}: {result.exception}\n")
    return subprocess.CompletedProcess(["dbt", *args], code, out.getvalue(), err.getvalue())

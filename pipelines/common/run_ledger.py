"""The run ledger: one row per pipeline run in `ops.pipeline_runs`, merged on run_id.

A run writes its row twice: `running` when it starts and its outcome (`success`/`failed`) when it ends. A run
that never reached its end (killed, out of memory, runner lost) is closed as `crashed` by the next run of the
same source, once its process is gone (same host) or it is older than `RUN_LEDGER_STALE_HOURS` (default 6).
Every row is first put in a small local queue file (`<pipelines dir>/run_ledger_local/<source>.json`) and
removed from it once the ledger holds it, so a row the warehouse refused (a DuckDB file locked by dbt or the
dashboard, an outage) is written by the next run. Rows are redacted (pipelines.common.redaction) before they
are queued or written.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dlt

from pipelines.common import redaction
from pipelines.common.full_refresh import RunMode
from pipelines.common.http import api_requests
from pipelines.common.rejected import rejected_counts
from pipelines.common.settings import destination, destination_name, pipelines_dir, raw_dataset, warehouse_path

LEDGER_PIPELINE = "run_ledger"
LEDGER_TABLE = "pipeline_runs"
DEFAULT_STALE_HOURS = 6.0

# explicit types so an all-null column (error_summary on success) still lands with the right type
COLUMNS = {
    "run_id": {"data_type": "text", "nullable": False},
    "source": {"data_type": "text", "nullable": False},
    "mode": {"data_type": "text"},
    "mode_reason": {"data_type": "text"},
    "started_at": {"data_type": "timestamp"},
    "finished_at": {"data_type": "timestamp"},
    "status": {"data_type": "text", "nullable": False},  # running, success, failed, crashed
    "rows_per_table": {"data_type": "text"},
    "total_rows": {"data_type": "bigint"},
    "rejected_records": {"data_type": "bigint"},
    "rejected_per_entity": {"data_type": "text"},
    "api_requests": {"data_type": "bigint"},
    "api_retries": {"data_type": "bigint"},
    "load_ids": {"data_type": "text"},
    "resumed_load_ids": {"data_type": "text"},  # packages an earlier (crashed) run left, loaded by this one
    "resumed_rows": {"data_type": "bigint"},  # of total_rows, how many came from those packages
    "failed_step": {"data_type": "text"},
    "error_summary": {"data_type": "text"},
    "destination": {"data_type": "text"},
    "dataset": {"data_type": "text"},
    "host": {"data_type": "text"},
    "pid": {"data_type": "bigint"},
}
_TIMESTAMPS = ("started_at", "finished_at")


def ops_dataset() -> str:
    return os.environ.get("OPS_DATASET", "ops")


def ledger_enabled() -> bool:
    return os.environ.get("RUN_LEDGER", "on").strip().lower() not in {"0", "off", "false", "no"}


def stale_after() -> timedelta:
    """`RUN_LEDGER_STALE_HOURS`: a `running` row this old is crashed even if its host cannot be checked."""
    raw = os.environ.get("RUN_LEDGER_STALE_HOURS", "").strip()
    return timedelta(hours=float(raw) if raw else DEFAULT_STALE_HOURS)


@dataclass
class LedgerRun:
    """Filled in by the runner as the run goes; the ledger row is built from it."""

    source: str
    mode: RunMode
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    pipeline: dlt.Pipeline | None = None
    # setup, restore_state, finish_pending (an earlier run's packages), extract, normalize, load, done
    step: str = "setup"
    rows: dict[str, int] = field(default_factory=dict)  # this run's new data, per table
    load_ids: list[str] = field(default_factory=list)
    resumed_rows: dict[str, int] = field(default_factory=dict)  # pending packages of an earlier run
    resumed_load_ids: list[str] = field(default_factory=list)
    row: dict | None = None
    warning: str | None = None  # why the ledger could not be written, when it could not

    def set_step(self, step: str) -> None:
        self.step = step
        if ledger_enabled():
            _LocalFile(self.source).set_current(self)


def build_row(run: LedgerRun, status: str, error: str | None) -> dict:
    """The ledger row: rows per table (this run's and the resumed packages'), requests, rejections, outcome."""
    rows: dict[str, int] = {}
    for counts in (run.resumed_rows, run.rows):
        for table, n in counts.items():
            if n and not table.startswith("_dlt"):
                rows[table] = rows.get(table, 0) + n
    requests, retried = api_requests(run.source)
    rejects = rejected_counts(run.source)
    finished = status != "running"
    return {
        "run_id": run.run_id,
        "source": run.source,
        "mode": "full_refresh" if run.mode.full_refresh else "incremental",
        "mode_reason": run.mode.reason,
        "started_at": run.started_at,
        "finished_at": datetime.now(UTC) if finished else None,
        "status": status,
        "rows_per_table": json.dumps(rows, sort_keys=True),
        "total_rows": sum(rows.values()),
        "rejected_records": sum(rejects.values()),
        "rejected_per_entity": json.dumps(rejects, sort_keys=True),
        "api_requests": requests,
        "api_retries": retried,
        "load_ids": json.dumps([*run.resumed_load_ids, *run.load_ids]),
        "resumed_load_ids": json.dumps(run.resumed_load_ids),
        "resumed_rows": sum(n for t, n in run.resumed_rows.items() if not t.startswith("_dlt")),
        "failed_step": run.step if status == "failed" else None,
        "error_summary": error,
        "destination": destination_name(),
        "dataset": raw_dataset(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


@contextmanager
def recording(source: str, mode: RunMode, describe_error: Callable[[BaseException], str]) -> Iterator[LedgerRun]:
    """A `running` row now, the outcome when the block ends (failed or not); the block's exception propagates.

    A ledger that cannot be written (often the same outage that failed the run) is queued for the next run and
    reported on stderr, never allowed to replace the run's own outcome.
    """
    run = LedgerRun(source=source, mode=mode)
    if ledger_enabled():
        _start(run)
    try:
        yield run
    except BaseException as exc:
        _finish(run, "failed", describe_error(exc), describe_error)
        raise
    _finish(run, "success", None, describe_error)


def _start(run: LedgerRun) -> None:
    local = _LocalFile(run.source)
    try:
        stale = crashed_rows(run.source, local)
    except Exception:  # noqa: BLE001 - unreadable ledger: the next run looks again
        stale = []
    local.set_current(run)
    write_rows(run.source, [*stale, build_row(run, "running", None)])


def _finish(run: LedgerRun, status: str, error: str | None, describe_error: Callable[[BaseException], str]) -> None:
    if not ledger_enabled():
        return
    try:
        run.row = build_row(run, status, error)
    except Exception as exc:  # noqa: BLE001 - see recording(): the ledger must not mask the run's result
        run.warning = describe_error(exc)
        print(f"[{run.source}] WARNING: run ledger row not built: {run.warning}", file=sys.stderr)
        return
    problem = write_rows(run.source, [run.row], describe_error)
    _LocalFile(run.source).clear_current(run.run_id)
    if problem:
        run.warning = problem
        print(f"[{run.source}] WARNING: run ledger not written ({problem}); the row is queued in "
              f"{_LocalFile(run.source).path} and the next run writes it", file=sys.stderr)


def queue_locked_out(source: str, mode: RunMode, exc: BaseException,
                     describe_error: Callable[[BaseException], str]) -> None:
    """A run the warehouse lock refused before it could write anything: its `failed` row waits in the local queue
    and the next run writes it (other refusals before the ledger starts are not runs of this warehouse)."""
    from pipelines.common.errors import warehouse_locked

    if not ledger_enabled() or not warehouse_locked(exc):
        return
    run = LedgerRun(source=source, mode=mode, step="preflight")
    row = build_row(run, "failed", describe_error(exc))
    local = _LocalFile(source)
    local.queue([redaction.redact_obj(_jsonable(row))])
    print(f"[{source}] WARNING: run ledger not written (the warehouse is locked); the row is queued in "
          f"{local.path} and the next run writes it", file=sys.stderr)


def write_rows(source: str, rows: list[dict], describe_error: Callable[[BaseException], str] | None = None) -> str | None:
    """Queue the rows locally, then write everything queued for `source`; None when the ledger has them all."""
    local = _LocalFile(source)
    clean = [redaction.redact_obj(_jsonable(r)) for r in rows]
    queued = local.queue(clean)
    try:
        _load([_typed(r) for r in queued.values()])
    except Exception as exc:  # noqa: BLE001 - the rows stay queued for the next run
        if describe_error is None:
            from pipelines.common.errors import one_line_error

            describe_error = one_line_error
        return describe_error(exc)
    local.dequeue(queued)
    return None


def write_row(row: dict) -> None:
    """One row straight into the ledger (merged on run_id); raises when the destination refuses it."""
    _load([_typed(redaction.redact_obj(_jsonable(row)))])


_pipelines: dict[tuple, dlt.Pipeline] = {}


def _ledger_pipeline() -> dlt.Pipeline:
    """One ledger pipeline per destination and folder in this process (a run writes twice); it keeps no state
    worth restoring from the destination, so it does not ask for it."""
    key = (destination_name(), str(pipelines_dir()), ops_dataset(),
           str(warehouse_path()) if destination_name() == "duckdb" else None)
    pipeline = _pipelines.get(key)
    if pipeline is None or not Path(pipeline.working_dir).is_dir():  # folder removed (clean-warehouse): start anew
        pipeline = _pipelines[key] = dlt.pipeline(
            pipeline_name=LEDGER_PIPELINE,
            destination=destination(),
            dataset_name=ops_dataset(),
            pipelines_dir=str(pipelines_dir()),
        )
        pipeline.config.restore_from_destination = False
    return pipeline


def _load(rows: list[dict]) -> None:
    """One small dlt run into the ops dataset, merged on run_id, on the same destination as the source."""
    pipeline = _ledger_pipeline()
    if pipeline.has_pending_data:
        # a ledger write that died half way: its rows are still in the local queue, newest version included;
        # loading the old package first would be harmless, but `run` would then skip this batch (dlt loads
        # pending packages and returns)
        pipeline.drop_pending_packages()
    resource = dlt.resource(rows, name=LEDGER_TABLE, primary_key="run_id",
                            write_disposition="merge", columns=COLUMNS)
    pipeline.run(resource)


# --- crashed runs --------------------------------------------------------------------------


def crashed_rows(source: str, local: _LocalFile | None = None, now: datetime | None = None) -> list[dict]:
    """`running` rows of `source` whose run is over without an outcome, as `crashed` rows to merge."""
    now = now or datetime.now(UTC)
    local = local or _LocalFile(source)
    queued = local.queued()
    current = local.current()
    out = []
    for row in _running_rows(source):
        if row["run_id"] in queued and queued[row["run_id"]].get("status") != "running":
            continue  # its outcome is queued: written with this batch
        reason = _why_stale(row, now)
        if reason is None:
            continue
        step = current.get("step") if current.get("run_id") == row["run_id"] else None
        out.append({**row, "status": "crashed", "failed_step": step or "unknown",
                    "error_summary": f"the run ended without recording an outcome ({reason}; found by the next "
                                     f"run at {now:%Y-%m-%d %H:%M:%S} UTC)"
                                     + (f"; it was in step {step}" if step else "")})
    return out


def _running_rows(source: str) -> list[dict]:
    if not re.fullmatch(r"[A-Za-z0-9_]+", source):
        return []
    pipeline = _ledger_pipeline()
    try:
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(LEDGER_TABLE)
            with client.execute_query(f"select * from {table} where source = '{source}' "
                                      f"and status = 'running'") as cursor:
                names = [d[0] for d in cursor.description]
                fetched = cursor.fetchall()
    except Exception:  # noqa: BLE001 - no ledger yet (or not readable): nothing to close
        return []
    rows = []
    for values in fetched:
        row = {k: v for k, v in zip(names, values, strict=True) if not k.startswith("_dlt")}
        for k in _TIMESTAMPS:
            if isinstance(row.get(k), datetime) and row[k].tzinfo is None:
                row[k] = row[k].replace(tzinfo=UTC)
        rows.append(row)
    return rows


def _why_stale(row: dict, now: datetime) -> str | None:
    started = row.get("started_at")
    old = isinstance(started, datetime) and now - started > stale_after()
    pid, host = row.get("pid"), row.get("host")
    if host == socket.gethostname() and pid is not None:
        if int(pid) == os.getpid():
            return f"an earlier run of this process (pid {pid}) stopped"
        if not _alive(int(pid)):
            return f"its process (pid {pid} on {host}) is gone"
        if old:
            return f"still marked running after {stale_after()} (pid {pid} on {host})"
        return None
    if old:
        return f"still marked running after {stale_after()}" + (f" (on {host})" if host else "")
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child not yet reaped is a zombie: gone for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


# --- the local file: queued rows and the current run's step --------------------------------


class _LocalFile:
    """`<pipelines dir>/run_ledger_local/<source>.json`: {"queued": {run_id: row}, "current": {...}}."""

    def __init__(self, source: str):
        self.path = pipelines_dir() / "run_ledger_local" / f"{source}.json"

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def _write(self, doc: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(doc, f, default=str)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def queued(self) -> dict[str, dict]:
        return dict(self._read().get("queued", {}))

    def queue(self, rows: list[dict]) -> dict[str, dict]:
        doc = self._read()
        queued = doc.setdefault("queued", {})
        for row in rows:
            queued[row["run_id"]] = row
        self._write(doc)
        return dict(queued)

    def dequeue(self, written: dict[str, dict]) -> None:
        doc = self._read()
        queued = doc.get("queued", {})
        for run_id, row in written.items():
            if queued.get(run_id) == row:
                del queued[run_id]
        self._write(doc)

    def current(self) -> dict:
        return dict(self._read().get("current") or {})

    def set_current(self, run: LedgerRun) -> None:
        doc = self._read()
        doc["current"] = {"run_id": run.run_id, "step": run.step, "pid": os.getpid(),
                          "updated_at": datetime.now(UTC).isoformat()}
        self._write(doc)

    def clear_current(self, run_id: str) -> None:
        doc = self._read()
        if (doc.get("current") or {}).get("run_id") == run_id:
            doc["current"] = None
            self._write(doc)


def _jsonable(row: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _typed(row: dict) -> dict:
    out = dict(row)
    for k in _TIMESTAMPS:
        if isinstance(out.get(k), str):
            out[k] = datetime.fromisoformat(out[k])
    return out

"""The run ledger: one row per pipeline run in `ops.pipeline_runs`, built from dlt's trace and load info."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dlt

from pipelines.common.full_refresh import RunMode
from pipelines.common.http import api_requests
from pipelines.common.rejected import rejected_counts
from pipelines.common.settings import destination, destination_name, pipelines_dir, raw_dataset

LEDGER_PIPELINE = "run_ledger"
LEDGER_TABLE = "pipeline_runs"

# explicit types so an all-null column (error_summary on success) still lands with the right type
COLUMNS = {
    "run_id": {"data_type": "text", "nullable": False},
    "source": {"data_type": "text", "nullable": False},
    "mode": {"data_type": "text"},
    "mode_reason": {"data_type": "text"},
    "started_at": {"data_type": "timestamp"},
    "finished_at": {"data_type": "timestamp"},
    "status": {"data_type": "text", "nullable": False},
    "rows_per_table": {"data_type": "text"},
    "total_rows": {"data_type": "bigint"},
    "rejected_records": {"data_type": "bigint"},
    "rejected_per_entity": {"data_type": "text"},
    "api_requests": {"data_type": "bigint"},
    "api_retries": {"data_type": "bigint"},
    "load_ids": {"data_type": "text"},
    "failed_step": {"data_type": "text"},
    "error_summary": {"data_type": "text"},
    "destination": {"data_type": "text"},
    "dataset": {"data_type": "text"},
}


def ops_dataset() -> str:
    return os.environ.get("OPS_DATASET", "ops")


def ledger_enabled() -> bool:
    return os.environ.get("RUN_LEDGER", "on").strip().lower() not in {"0", "off", "false", "no"}


@dataclass
class LedgerRun:
    """Filled in by the run as it goes; `pipeline` and `info` are what the ledger row is read from."""

    source: str
    mode: RunMode
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    pipeline: dlt.Pipeline | None = None
    info: object | None = None  # dlt LoadInfo of the run, when it got that far
    row: dict | None = None


def build_row(run: LedgerRun, error: str | None) -> dict:
    """The ledger row from dlt's trace of this run (rows per table, load ids, failing step) and the request counter."""
    trace = _this_runs_trace(run)
    rows: dict[str, int] = {}
    load_ids: list[str] = []
    failed_step = None
    if trace is not None:
        normalize = trace.last_normalize_info
        if normalize is not None:
            rows = {t: n for t, n in normalize.row_counts.items() if not t.startswith("_dlt") and n}
        # dlt marks both the failing step (extract/normalize/load) and the enclosing "run" as failed
        failed = [s.step for s in trace.steps if s.step_exception is not None]
        failed_step = next((s for s in failed if s != "run"), failed[0] if failed else None)
    if run.info is not None:
        load_ids = list(run.info.loads_ids)
    requests, retried = api_requests(run.source)
    rejects = rejected_counts(run.source)
    return {
        "run_id": trace.transaction_id if trace is not None else uuid.uuid4().hex,
        "source": run.source,
        "mode": "full_refresh" if run.mode.full_refresh else "incremental",
        "mode_reason": run.mode.reason,
        "started_at": run.started_at,
        "finished_at": datetime.now(UTC),
        "status": "failed" if error is not None else "success",
        "rows_per_table": json.dumps(rows, sort_keys=True),
        "total_rows": sum(rows.values()),
        "rejected_records": sum(rejects.values()),
        "rejected_per_entity": json.dumps(rejects, sort_keys=True),
        "api_requests": requests,
        "api_retries": retried,
        "load_ids": json.dumps(load_ids),
        # no trace of this run means it failed before dlt started: configuration or source discovery
        "failed_step": (failed_step or "setup") if error is not None else None,
        "error_summary": error,
        "destination": destination_name(),
        "dataset": raw_dataset(),
    }


def _this_runs_trace(run: LedgerRun):
    """dlt keeps the previous run's trace on disk: use it only if it started after this run did."""
    if run.pipeline is None:
        return None
    trace = run.pipeline.last_trace
    if trace is None or trace.started_at < run.started_at:
        return None
    return trace


def write_row(row: dict) -> None:
    """One small dlt run into the ops dataset, merged on run_id, on the same destination as the source."""
    pipeline = dlt.pipeline(
        pipeline_name=LEDGER_PIPELINE,
        destination=destination(),
        dataset_name=ops_dataset(),
        pipelines_dir=str(pipelines_dir()),
    )
    resource = dlt.resource([row], name=LEDGER_TABLE, primary_key="run_id",
                            write_disposition="merge", columns=COLUMNS)
    pipeline.run(resource)


@contextmanager
def recording(source: str, mode: RunMode, describe_error: Callable[[BaseException], str]) -> Iterator[LedgerRun]:
    """Records the run in the ledger when the block ends, failed or not; the block's exception always propagates.

    A ledger that cannot be written (often the same outage that failed the run) is reported on stderr,
    never allowed to replace the run's own outcome.
    """
    run = LedgerRun(source=source, mode=mode)
    try:
        yield run
    except BaseException as exc:
        _record(run, describe_error(exc), describe_error)
        raise
    _record(run, None, describe_error)


def _record(run: LedgerRun, error: str | None, describe_error: Callable[[BaseException], str]) -> None:
    if not ledger_enabled():
        return
    try:
        run.row = build_row(run, error)
        write_row(run.row)
    except Exception as exc:  # noqa: BLE001 - see recording(): the ledger must not mask the run's result
        print(f"[{run.source}] WARNING: run ledger not written: {describe_error(exc)}", file=sys.stderr)

"""Runs one source the same way for every system: mode resolution, dlt steps, the ledger, a run report.

The dlt steps run as separate calls (not `pipeline.run`), so that:
- load packages an earlier run left behind (it crashed after extract, or during load) are finished first AND
  this run still extracts new data (`pipeline.run` would load them and return without extracting), and their
  rows are counted in this run's ledger row (`resumed_*`);
- the ledger knows which step a run was in when it failed or died;
- tests can kill a run between or inside steps (`PIPELINE_TEST_KILL_AT`, see `_arm_kill_switch`).

Completed load jobs are deleted after a successful load (`LOAD__DELETE_COMPLETED_JOBS`, default on here), so
no row data stays in the pipelines folder; secrets are redacted from dlt's trace and any file left there.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dlt
from dlt.common.runtime.collector import NullCollector
from dlt.common.storages.load_package import ParsedLoadJobFileName
from dlt.extract.source import DltSource

from pipelines.common import redaction, rejected, run_ledger, warehouse_guard
from pipelines.common.errors import SourceError, one_line_error
from pipelines.common.full_refresh import RunMode, resolve_mode
from pipelines.common.http import api_requests, reset_api_requests
from pipelines.common.settings import (
    destination_name,
    loader_file_format,
    make_pipeline,
    pipelines_dir,
    raw_dataset,
    warehouse_path,
)

KILL_SWITCH_ENV = "PIPELINE_TEST_KILL_AT"
KILL_POINTS = ("extract", "normalize", "load", "loaded")


@dataclass
class RunReport:
    """What one run did; printed as the run log and returned to callers (tests, demo)."""

    source: str
    mode: RunMode
    rows: dict[str, int] = field(default_factory=dict)
    api_requests: int = 0
    api_retries: int = 0
    seconds: float = 0.0
    load_id: str | None = None
    run_id: str | None = None  # the run's row in the ledger (ops.pipeline_runs), when it was written
    rejected: dict[str, int] = field(default_factory=dict)  # entity -> records sent to <source>__rejected
    resumed: dict[str, int] = field(default_factory=dict)  # rows of packages an earlier run left, loaded now
    resumed_load_ids: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def render(self) -> str:
        where = str(warehouse_path()) if destination_name() == "duckdb" else destination_name()
        lines = [f"[{self.source}] mode: {self.mode}",
                 f"[{self.source}] loaded into {where} dataset '{raw_dataset()}' in {self.seconds:.1f} s"]
        if self.resumed_load_ids:
            per_table = ", ".join(f"{t} {n}" for t, n in sorted(self.resumed.items())) or "no rows"
            lines.append(f"[{self.source}] finished {len(self.resumed_load_ids)} load package(s) an earlier run "
                         f"left pending: {per_table}")
        for table, n in sorted(self.rows.items()):
            lines.append(f"[{self.source}]   {table}: {n} rows")
        if not self.rows:
            lines.append(f"[{self.source}]   nothing new")
        if self.rejected:
            total = sum(self.rejected.values())
            per_entity = ", ".join(f"{e} {n}" for e, n in sorted(self.rejected.items()))
            lines.append(f"[{self.source}] rejected: {total} records ({per_entity}), "
                         f"reasons in {raw_dataset()}.{rejected.table_name(self.source)}")
        lines.append(f"[{self.source}] API requests: {self.api_requests} ({self.api_retries} answered 429/5xx and retried)")
        return "\n".join(lines)


def run_source(source_name: str, build_source: Callable[[], DltSource], full_refresh: bool = False) -> RunReport:
    redaction.install()  # before anything can print, log or raise a secret
    try:
        warehouse_guard.preflight(source_name)  # dlt mode env scrubbed, TOML files parse, sandbox/real never mixed
    except Exception as exc:
        # refused before the ledger could start: a locked warehouse is still a run to record (by the next run)
        run_ledger.queue_locked_out(source_name, resolve_mode(source_name, full_refresh), exc, one_line_error)
        raise
    mode = resolve_mode(source_name, full_refresh)

    # no row data left behind: dlt deletes a package's job files once it has loaded them all
    os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")
    # Arrow tables carry _dlt_load_id too, so an appended table can be started over after a crash mid-load
    os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
    reset_api_requests(source_name)
    rejected.reset_rejected_counts(source_name)
    started = time.monotonic()
    try:
        # the ledger records this run in ops.pipeline_runs: `running` now, the outcome on the way out (then re-raises)
        with run_ledger.recording(source_name, mode, one_line_error) as run:
            run.pipeline = pipeline = make_pipeline(source_name)
            _arm_kill_switch(pipeline)
            run.set_step("restore_state")
            _restore_state(pipeline)
            _finish_pending(pipeline, run)
            run.set_step("setup")
            source = build_source()
            redaction.collect_config()  # secrets the source's config pulled from secrets.toml / Secret Manager
            run.set_step("extract")
            pipeline.extract(source, refresh="drop_sources" if mode.full_refresh else None,
                             loader_file_format=loader_file_format())
            run.set_step("normalize")
            normalize = pipeline.normalize()
            run.rows = _row_counts(normalize)
            run.set_step("load")
            info = pipeline.load()
            run.load_ids = list(info.loads_ids)
            _kill_if("loaded")
            run.set_step("done")
            too_many = rejected.over_threshold(source_name, run.rows)
            if too_many:
                run.set_step("rejected_threshold")
                raise SourceError(f"too many rejected records ({'; '.join(too_many)}); the rest loaded, see "
                                  f"{raw_dataset()}.{rejected.table_name(source_name)} (threshold: "
                                  f"{source_name.upper()}_REJECTED_THRESHOLD)")
    finally:
        _sanitise_working_files(source_name)
    requests, retried = api_requests(source_name)
    return RunReport(
        source=source_name, mode=mode,
        rows={t: n for t, n in run.rows.items() if not t.startswith("_dlt") and n},
        api_requests=requests, api_retries=retried, seconds=time.monotonic() - started,
        load_id=run.load_ids[-1] if run.load_ids else None,
        run_id=run.row["run_id"] if run.row else None,
        rejected=rejected.rejected_counts(source_name),
        resumed={t: n for t, n in run.resumed_rows.items() if not t.startswith("_dlt") and n},
        resumed_load_ids=run.resumed_load_ids,
    )


def _sanitise_working_files(source_name: str) -> None:
    """Secrets out of dlt's trace and any text file this run left in the pipelines folder (never masks the run's
    own outcome: a failure here is a warning)."""
    try:
        root = pipelines_dir()
        redaction.sanitise_files([root / source_name, root / run_ledger.LEDGER_PIPELINE, root / "run_ledger_local"])
    except Exception as exc:  # noqa: BLE001
        print(f"[{source_name}] WARNING: could not check the pipelines folder for secrets: {one_line_error(exc)}",
              file=sys.stderr)


def _restore_state(pipeline: dlt.Pipeline) -> None:
    """What `pipeline.run` does first: state and schemas from the destination when the local folder is behind
    (ephemeral runners start with none)."""
    if pipeline.config.restore_from_destination and not pipeline.dev_mode:
        pipeline.sync_destination()


def _finish_pending(pipeline: dlt.Pipeline, run: run_ledger.LedgerRun) -> None:
    """Normalize and load what an earlier run extracted but did not load, counting its rows for the ledger."""
    if not pipeline.has_pending_data:
        return
    run.set_step("finish_pending")
    counts: dict[str, int] = {}
    counted: set[str] = set()
    if pipeline.list_extracted_load_packages():
        normalized = pipeline.normalize()
        _merge(counts, _row_counts(normalized))
        counted = set(normalized.loads_ids)
    for load_id in pipeline.list_normalized_load_packages():
        if load_id not in counted:
            _merge(counts, _pending_package_rows(pipeline, load_id))
        _restart_unfinished_tables(pipeline, load_id)
    info = pipeline.load()
    run.resumed_rows = counts
    run.resumed_load_ids = list(info.loads_ids)


def _restart_unfinished_tables(pipeline: dlt.Pipeline, load_id: str) -> list[str]:
    """Make resuming a package killed mid-load exactly-once; returns the tables started over.

    dlt resumes a package job by job: a job whose INSERT had committed when the process died, but whose
    completion was not yet recorded (dlt records it after closing the connection, a wide window on DuckDB),
    runs again and its rows land twice.
    - Merged tables load through the staging dataset, and the merge deduplicates by primary key only for single
      tables: a root table with nested tables, or a table merged on a merge key alone, would get the rows twice.
      So every merged table chain (root + nested) whose merge has not completed is started over: its staging
      tables truncated, its jobs back to new, its unfinished merge job dropped (dlt creates it again once the
      chain's jobs complete). The merge is idempotent (delete by key, then insert): running it again after one
      that did commit changes nothing.
    - Appended tables load straight into the dataset: one with a job that may have committed unrecorded is
      started over when its rows carry `_dlt_load_id` (this package's rows deleted, its jobs back to new);
      without that column (Arrow tables by default) it cannot be, and a warning says so.
    """
    from dlt.common.schema.utils import get_root_table, get_write_disposition
    from dlt.common.storages.load_package import PackageStorage

    packages: PackageStorage = pipeline._get_load_storage().normalized_packages
    schema = packages.load_schema(load_id)
    jobs = packages.list_all_jobs_with_states(load_id)
    followup_formats = ("sql", "reference")
    chains: dict[str, list] = {}
    appended: dict[str, list] = {}
    for state, job in jobs:
        if job.table_name not in schema.tables or job.table_name.startswith("_dlt"):
            continue
        disposition = get_write_disposition(schema.tables, job.table_name)
        root = get_root_table(schema.tables, job.table_name)["name"]
        if disposition == "merge":
            chains.setdefault(root, []).append((state, job))
        elif disposition == "append":
            appended.setdefault(root, []).append((state, job))
    pending = set(packages.list_pending_transitions(load_id))
    restarted = []

    def back_to_new(state: str, job) -> None:
        packages.clear_pending_transition(load_id, job.file_name())
        if state in ("started_jobs", "completed_jobs"):
            packages._move_job(load_id, state, "new_jobs", job.file_name())

    for root, chain_jobs in chains.items():
        data = [(st, j) for st, j in chain_jobs if j.file_format not in followup_formats]
        merges = [(st, j) for st, j in chain_jobs if j.file_format in followup_formats]
        ran = any(st != "new_jobs" for st, _ in data)
        merged = any(st == "completed_jobs" for st, _ in merges) and all(st == "completed_jobs" for st, _ in data)
        if not ran or merged:
            continue
        _truncate(pipeline, schema.name, sorted({j.table_name for _, j in data} | {root}), staging=True)
        for state, job in data:
            back_to_new(state, job)
        for state, job in merges:
            if state != "completed_jobs":
                packages.clear_pending_transition(load_id, job.file_name())
                os.remove(packages.storage.make_full_path(packages.get_job_file_path(load_id, state, job.file_name())))
        restarted.append(root)

    for root, table_jobs in appended.items():
        unsure = [j for st, j in table_jobs if st == "started_jobs" and j.file_name() not in pending]
        if not unsure:
            continue
        nested = {j.table_name for _, j in table_jobs} - {root}
        if nested or "_dlt_load_id" not in schema.tables[root].get("columns", {}):
            print(f"[{pipeline.pipeline_name}] WARNING: {root} is appended without _dlt_load_id: if the interrupted "
                  f"load had written {', '.join(j.file_name() for j in unsure)}, those rows are now there twice",
                  file=sys.stderr)
            continue
        _truncate(pipeline, schema.name, [root], staging=False, load_id=load_id)
        for state, job in table_jobs:
            back_to_new(state, job)
        restarted.append(root)
    return restarted


def _truncate(pipeline: dlt.Pipeline, schema_name: str, tables: list[str], staging: bool,
              load_id: str | None = None) -> None:
    """Empty these staging tables, or delete one package's rows (`load_id`) from dataset tables."""
    from contextlib import nullcontext

    from dlt.common.destination.client import WithStagingDataset

    with pipeline.destination_client(schema_name) as client:
        if staging and not isinstance(client, WithStagingDataset):
            return
        with client.with_staging_dataset() if staging else nullcontext(client):
            sql = client.sql_client
            existing = [t for t in tables if _table_exists(sql, t)]
            if not existing:
                return
            if load_id is None:
                sql.truncate_tables(*existing)
            else:
                for table in existing:
                    sql.execute_sql(f"DELETE FROM {sql.make_qualified_table_name(table)} WHERE _dlt_load_id = %s",
                                    load_id)


def _table_exists(sql_client, table: str) -> bool:
    try:
        sql_client.execute_sql(f"SELECT 1 FROM {sql_client.make_qualified_table_name(table)} WHERE 1 = 0")
        return True
    except Exception:  # noqa: BLE001 - missing table (or dataset): nothing staged to truncate
        return False


def _row_counts(normalize_info) -> dict[str, int]:
    return {t: n for t, n in (normalize_info.row_counts if normalize_info else {}).items()}


def _merge(into: dict[str, int], counts: dict[str, int]) -> None:
    for table, n in counts.items():
        into[table] = into.get(table, 0) + n


def _pending_package_rows(pipeline: dlt.Pipeline, load_id: str) -> dict[str, int]:
    """Rows per table of a package normalized by an earlier run: from that run's normalize metrics in dlt's
    saved trace, else counted from the package's job files."""
    trace = pipeline.last_trace
    for step in reversed(trace.steps if trace else []):
        info = step.step_info
        metrics = getattr(info, "metrics", None) if step.step == "normalize" else None
        if metrics and load_id in metrics:
            counts: dict[str, int] = {}
            for m in metrics[load_id]:
                _merge(counts, {t: tm.items_count for t, tm in m["table_metrics"].items()})
            return counts
    return _count_job_files(Path(pipeline.working_dir) / "load" / "normalized" / load_id)


def _count_job_files(package: Path) -> dict[str, int]:
    """Rows in a package's data files (parquet metadata, lines of jsonl / insert_values), by table."""
    import gzip

    counts: dict[str, int] = {}
    for path in package.glob("*_jobs/*"):
        try:
            parsed = ParsedLoadJobFileName.parse(path.name)
        except Exception:  # noqa: BLE001 - not a job file
            continue
        if parsed.table_name.startswith("_dlt"):
            continue
        n = 0
        if parsed.file_format == "parquet":
            import pyarrow.parquet as pq

            n = pq.ParquetFile(path).metadata.num_rows
        elif parsed.file_format in ("jsonl", "typed-jsonl", "insert_values", "csv"):
            with open(path, "rb") as f:
                head = f.read(2)
            opener = gzip.open if head == b"\x1f\x8b" else open
            with opener(path, "rt", encoding="utf-8", errors="replace") as f:
                lines = sum(1 for _ in f)
            n = lines - (1 if parsed.file_format in ("insert_values", "csv") else 0)
        counts[parsed.table_name] = counts.get(parsed.table_name, 0) + max(n, 0)
    return counts


# --- crash tests: SIGKILL at a named point -----------------------------------------------------


def _kill_switch() -> tuple[str, int] | None:
    """(point, n) from `PIPELINE_TEST_KILL_AT=<point>[:<n>]`: die at the n-th progress of that step (default 1st)."""
    raw = os.environ.get(KILL_SWITCH_ENV, "").strip().lower()
    if not raw:
        return None
    point, _, nth = raw.partition(":")
    if point not in KILL_POINTS or (nth and not nth.isdigit()):
        raise SourceError(f"{KILL_SWITCH_ENV}={raw!r} is not one of {', '.join(KILL_POINTS)} (optionally :<n>)")
    return point, int(nth or 1)


def _kill_if(point: str) -> None:
    switch = _kill_switch()
    if switch and switch[0] == point:
        os.kill(os.getpid(), signal.SIGKILL)


class _KillingCollector(NullCollector):
    """dlt reports progress to its collector from inside each step: the n-th progress of the named step
    (an extracted item, a normalized file, a completed load job) kills the process, mid-step."""

    def __init__(self, point: str, nth: int, inner):
        self.point, self.nth, self.inner, self.step, self.seen = point, nth, inner, "", 0

    def update(self, name, inc=1, total=None, inc_total=None, message=None, label=None) -> None:
        step = self.step.split(" ", 1)[0].lower()
        if step == self.point and inc and (self.point != "load" or name == "Jobs"):
            self.seen += 1
            if self.seen >= self.nth:
                os.kill(os.getpid(), signal.SIGKILL)
        self.inner.update(name, inc, total, inc_total, message, label)

    def _start(self, step: str) -> None:
        self.step = self.inner.step = step
        self.inner._start(step)

    def _stop(self) -> None:
        self.inner._stop()


def _arm_kill_switch(pipeline: dlt.Pipeline) -> None:
    """`PIPELINE_TEST_KILL_AT=extract|normalize|load|loaded[:n]`: tests only (tests/reliability/)."""
    switch = _kill_switch()
    if switch and switch[0] in ("extract", "normalize", "load"):
        pipeline.collector = _KillingCollector(*switch, pipeline.collector)


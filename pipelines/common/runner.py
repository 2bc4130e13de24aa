"""Runs one source the same way for every system: mode resolution, dlt run, the ledger, a run report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dlt.extract.source import DltSource

from pipelines.common import rejected, run_ledger
from pipelines.common.errors import SourceError, one_line_error
from pipelines.common.full_refresh import RunMode, resolve_mode
from pipelines.common.http import api_requests, reset_api_requests
from pipelines.common.settings import destination_name, make_pipeline, raw_dataset, warehouse_path


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

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def render(self) -> str:
        where = str(warehouse_path()) if destination_name() == "duckdb" else destination_name()
        lines = [f"[{self.source}] mode: {self.mode}",
                 f"[{self.source}] loaded into {where} dataset '{raw_dataset()}' in {self.seconds:.1f} s"]
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
    mode = resolve_mode(source_name, full_refresh)
    reset_api_requests(source_name)
    rejected.reset_rejected_counts(source_name)
    started = time.monotonic()
    # the ledger records this run in ops.pipeline_runs on the way out, failures included (then re-raises)
    with run_ledger.recording(source_name, mode, one_line_error) as run:
        run.pipeline = pipeline = make_pipeline(source_name)
        source = build_source()
        run.info = info = pipeline.run(source, refresh="drop_sources" if mode.full_refresh else None)
        normalize = pipeline.last_trace.last_normalize_info
        counts = normalize.row_counts if normalize else {}
        too_many = rejected.over_threshold(source_name, counts)
        if too_many:
            raise SourceError(f"too many rejected records ({'; '.join(too_many)}); the rest loaded, see "
                              f"{raw_dataset()}.{rejected.table_name(source_name)} (threshold: "
                              f"{source_name.upper()}_REJECTED_THRESHOLD)")
    requests, retried = api_requests(source_name)
    return RunReport(
        source=source_name, mode=mode,
        rows={t: n for t, n in counts.items() if not t.startswith("_dlt") and n},
        api_requests=requests, api_retries=retried, seconds=time.monotonic() - started,
        load_id=info.loads_ids[-1] if info.loads_ids else None,
        run_id=run.row["run_id"] if run.row else None,
        rejected=rejected.rejected_counts(source_name),
    )

"""Runs one source the same way for every system: mode resolution, dlt run, a run log, one-line errors."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.extract.source import DltSource

from pipelines.common import run_ledger
from pipelines.common.full_refresh import RunMode, resolve_mode
from pipelines.common.http import SourceError, api_requests, reset_api_requests
from pipelines.common.settings import destination_name, make_pipeline, raw_dataset, warehouse_path

_SECRET_ENV = re.compile(r"(TOKEN|SECRET|PASSWORD|KEY|CREDENTIALS)", re.I)


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
        lines.append(f"[{self.source}] API requests: {self.api_requests} ({self.api_retries} answered 429/5xx and retried)")
        return "\n".join(lines)


def run_source(source_name: str, build_source: Callable[[], DltSource], full_refresh: bool = False) -> RunReport:
    mode = resolve_mode(source_name, full_refresh)
    reset_api_requests(source_name)
    started = time.monotonic()
    # the ledger records this run in ops.pipeline_runs on the way out, failures included (then re-raises)
    with run_ledger.recording(source_name, mode, one_line_error) as run:
        run.pipeline = pipeline = make_pipeline(source_name)
        source = build_source()
        run.info = info = pipeline.run(source, refresh="drop_sources" if mode.full_refresh else None)
    normalize = pipeline.last_trace.last_normalize_info
    counts = normalize.row_counts if normalize else {}
    requests, retried = api_requests(source_name)
    return RunReport(
        source=source_name, mode=mode,
        rows={t: n for t, n in counts.items() if not t.startswith("_dlt") and n},
        api_requests=requests, api_retries=retried, seconds=time.monotonic() - started,
        load_id=info.loads_ids[-1] if info.loads_ids else None,
        run_id=run.row["run_id"] if run.row else None,
    )


def one_line_error(exc: BaseException) -> str:
    """The most useful single line from an exception chain, with any secret from the environment masked."""
    chain, seen = [], set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        chain.append(e)
        stack.extend([getattr(e, "exception", None), e.__cause__, e.__context__])
    message = None
    for e in chain:
        if isinstance(e, SourceError):
            message = str(e)
            break
        if isinstance(e, ConfigFieldMissingException):
            fields = ", ".join(e.fields)
            message = (f"missing configuration {fields} for {e.spec_name}: set it in .dlt/secrets.toml "
                       f"(template: config/secrets.toml.example) or as an environment variable, "
                       f"e.g. SOURCES__<SOURCE>__{e.fields[0].upper()}")
            break
    if message is None:
        root = chain[-1] if chain else exc
        message = f"{type(root).__name__}: {str(root).strip().splitlines()[0] if str(root).strip() else ''}"
    for name, value in os.environ.items():
        if value and len(value) >= 6 and _SECRET_ENV.search(name):
            message = message.replace(value, "***")
    return message.splitlines()[0]


def main(source_name: str, build_source: Callable[[], DltSource], argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m pipelines.{source_name}",
                                     description=f"Load {source_name} into the raw dataset.")
    parser.add_argument("--full-refresh", action="store_true",
                        help=f"drop this source's tables and state and reload everything "
                             f"(also {source_name.upper()}_FULL_REFRESH=true or FORCE_FULL_REFRESH=true)")
    args = parser.parse_args(argv)
    try:
        report = run_source(source_name, build_source, args.full_refresh)
    except Exception as exc:  # noqa: BLE001 - the CLI's job is to turn any failure into one clear line
        print(f"[{source_name}] FAILED: {one_line_error(exc)}", file=sys.stderr)
        return 1
    print(report.render())
    return 0

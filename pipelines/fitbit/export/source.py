"""Fitbit data export (Google Takeout zip or folder) -> raw.fitbit__* (the same tables as the Web API source)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import dlt
import pyarrow as pa
from dlt.destinations.exceptions import DatabaseUndefinedRelation, DestinationUndefinedEntity

from pipelines.common import cli
from pipelines.common.full_refresh import resolve_mode
from pipelines.fitbit.export.files import Export, ExportFile, ParsedExport
from pipelines.fitbit.records import STAGE_LEVELS, keys_not_null

SOURCE = "fitbit_export"


def _local_ts(**extra) -> dict:
    """Fitbit times are local wall-clock without a zone: stored as plain timestamps, not shifted as if UTC.

    A fresh dict each time, because dlt writes the column name into the hint it is given.
    """
    return {"data_type": "timestamp", "timezone": False, **extra}


_SLEEP_COLUMNS = {"start_time": _local_ts(), "end_time": _local_ts(),
                  **{f"{lv}_minutes": {"data_type": "bigint"} for lv in STAGE_LEVELS}}


class ExportBatch:
    """The files of this run: new or changed ones are parsed once (lazily) and shared by every resource."""

    def __init__(self, export: Export, known: dict[str, tuple[str, str]]):
        self.export = export
        self.all_files = export.files()
        self.todo: list[ExportFile] = []
        self.unchanged: list[ExportFile] = []
        self.still_corrupt: list[ExportFile] = []
        for f in self.all_files:
            seen_hash, status = known.get(f.name, (None, None))
            if seen_hash != f.content_hash:
                self.todo.append(f)
            elif status == "corrupt":
                self.still_corrupt.append(f)
            else:
                self.unchanged.append(f)
        self._parsed: ParsedExport | None = None
        # staging keeps the latest row per key when the API and the export both loaded it
        self.loaded_at = datetime.now(UTC)

    @property
    def parsed(self) -> ParsedExport:
        if self._parsed is None:
            self._parsed = self.export.parse(self.todo)
            self._log()
        return self._parsed

    def _log(self) -> None:
        """The file-level run log: what was imported, skipped as unchanged, and which files are corrupt."""
        corrupt = self._parsed.corrupt
        print(f"[{SOURCE}] files: {len(self.all_files)} found, {len(self.todo) - len(corrupt)} new or changed "
              f"imported, {len(self.unchanged)} unchanged skipped, "
              f"{len(corrupt) + len(self.still_corrupt)} corrupt skipped", file=sys.stderr)
        for p in corrupt:
            print(f"[{SOURCE}]   corrupt: {p.file.name}: {p.error}", file=sys.stderr)
        for f in self.still_corrupt:
            print(f"[{SOURCE}]   corrupt (unchanged since last run): {f.name}", file=sys.stderr)

    def table(self, kind: str) -> pa.Table | None:
        table = self.parsed.tables.get(kind)
        return table if table is not None and table.num_rows else None


@dlt.source(name=SOURCE, section=SOURCE)
def fitbit_export_source(path: str = dlt.config.value, full_refresh: bool = False):
    """Every Fitbit file of the export at `path`; files whose content hash is already recorded are skipped."""
    batch = ExportBatch(Export(path), {} if full_refresh else imported_files())
    return (
        fitbit__sleep(batch),
        fitbit__daily_activity(batch),
        fitbit__heart_rate_daily(batch),
        fitbit__heart_rate_intraday(batch),
        fitbit__weight(batch),
        fitbit__export_files(batch),
    )


@dlt.resource(primary_key="log_id", write_disposition="merge", columns=_SLEEP_COLUMNS)
def fitbit__sleep(batch: ExportBatch) -> Iterator[list[dict]]:
    """Sleep logs (stages and classic) flattened like the API path's rows; merged on Fitbit's logId."""
    if batch.parsed.sleep:
        yield [{**row, "loaded_at": batch.loaded_at} for row in batch.parsed.sleep]


# the Web API also reports these per day; declared so the table has one shape whichever path loaded it
_API_ONLY_ACTIVITY = {"distance_km": {"data_type": "double"}, "calories_out": {"data_type": "bigint"},
                      "active_minutes": {"data_type": "bigint"}}


@dlt.resource(primary_key="activity_date", write_disposition="merge", columns=_API_ONLY_ACTIVITY)
def fitbit__daily_activity(batch: ExportBatch) -> Iterator[pa.Table]:
    """Daily steps summed from the export's per-minute step files (distance, calories: Web API only)."""
    if (table := batch.table("steps")) is not None:
        yield keys_not_null(_stamped(table, batch), "activity_date")


@dlt.resource(primary_key="heart_rate_date", write_disposition="merge")
def fitbit__heart_rate_daily(batch: ExportBatch) -> Iterator[pa.Table]:
    """Resting heart rate per day (days the export marks 0 have no measurement and are left out)."""
    if (table := batch.table("resting_heart_rate")) is not None:
        yield keys_not_null(_stamped(table, batch), "heart_rate_date")


@dlt.resource(merge_key="measured_date", write_disposition={"disposition": "merge", "strategy": "delete-insert"},
              columns={"measured_at": _local_ts(unique=True, nullable=False)})
def fitbit__heart_rate_intraday(batch: ExportBatch) -> Iterator[pa.Table]:
    """Per-second heart-rate samples as one Arrow table (millions of rows: never dicts).

    Keyed by measured_at, merged by day: a re-imported day replaces that day's samples, which
    keeps one row per timestamp without a 7-million-row dedup on every load (3x slower, measured).
    """
    if (table := batch.table("heart_rate")) is not None:
        yield keys_not_null(table, "measured_at", "measured_date")


@dlt.resource(primary_key="log_id", write_disposition="merge", columns={"measured_at": _local_ts()})
def fitbit__weight(batch: ExportBatch) -> Iterator[pa.Table]:
    """Weight logs (kg, as the export writes them for metric accounts), merged on logId."""
    if (table := batch.table("weight")) is not None:
        yield keys_not_null(_stamped(table, batch), "log_id")


@dlt.resource(primary_key="file_name", write_disposition="merge", columns={"error": {"data_type": "text"}})
def fitbit__export_files(batch: ExportBatch) -> Iterator[list[dict]]:
    """One row per export file read: its content hash and outcome, so the next run skips what it already has."""
    rows = [{"file_name": p.file.name, "kind": p.file.kind, "content_hash": p.file.content_hash,
             "size_bytes": p.file.size, "records": p.rows, "status": "corrupt" if p.error else "imported",
             "error": p.error, "imported_at": batch.loaded_at} for p in batch.parsed.files]
    if rows:
        yield rows


def _stamped(table: pa.Table, batch: ExportBatch) -> pa.Table:
    """Daily tables carry where they came from and when, for staging's latest-row-per-key."""
    n = table.num_rows
    table = table.append_column("origin", pa.array(["export"] * n))
    return table.append_column("loaded_at", pa.array([batch.loaded_at] * n, pa.timestamp("us", tz="UTC")))


def imported_files() -> dict[str, tuple[str, str]]:
    """file name -> (content hash, status) recorded in the destination (survives an ephemeral runner)."""
    pipeline = dlt.current.pipeline()
    try:
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name("fitbit__export_files")
            rows = client.execute_sql(f"select file_name, content_hash, status from {table}")
    except (DatabaseUndefinedRelation, DestinationUndefinedEntity):
        return {}
    return {name: (digest, status) for name, digest, status in rows}


def main(argv: list[str] | None = None) -> int:
    """`--path` (or SOURCES__FITBIT_EXPORT__PATH / config) picks the export; the rest is the common CLI."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--path")
    parser.add_argument("--full-refresh", action="store_true")
    known, rest = parser.parse_known_args(argv)
    if known.path:
        os.environ["SOURCES__FITBIT_EXPORT__PATH"] = known.path
    if known.full_refresh:
        rest.append("--full-refresh")
    full = resolve_mode(SOURCE, known.full_refresh).full_refresh
    # full refresh drops the recorded hashes with the tables, so every file is read again
    return cli.main(SOURCE, lambda: fitbit_export_source(full_refresh=full), rest)


"""BigQuery layout of the high-volume raw tables: partitioned by month of their time column, clustered.

One place for every table's layout: the sources call `table_hints` (per-item hints, the Takeout export) or
`adapt` (a resource, the Google Health API) where they build their resources, and both do nothing unless
the pipeline's destination is BigQuery. dlt applies these hints when it creates a table; tables created
before they existed are rebuilt by `python -m scripts.bigquery_layout --migrate` (`make bigquery-migrate`).

Why these choices (each is a cost on BigQuery, which bills the bytes a statement reads):
- Month partitions, not days: BigQuery lets one job write at most 4,000 partitions, and ten years of
  daily partitions (3,650+) are at that limit for a first import, a `CREATE TABLE ... AS SELECT` migration
  or a full refresh. A month of per-second heart rate is ~0.6 M rows (tens of MB), so a statement pruned
  to a month or two reads little.
- The writes are bounded without partition scans of the whole history:
  * Takeout export tables: append, after `DELETE ... WHERE source_file IN (...)` for the files read again
    (ExportRun.forget_rows). Clustered first by `source_file`, BigQuery prunes to the blocks of those files.
  * Google Health API tables: dlt's delete-insert with a destination scope, `DELETE ... WHERE window_date
    >= '<since>'`: a filter on the partition column, so only the lag window's month(s) are read. (dlt's
    merge on a key would delete with `WHERE EXISTS (SELECT ... staging)`, which reads the whole table.)
- `_dlt_load_id` is a clustering column of every table, so the incremental marts' question "which days
  did loads after X touch?" (`WHERE _dlt_load_id > X`) reads the new rows' blocks, not all history.
"""

from __future__ import annotations

from dataclasses import dataclass

import dlt
from dlt.destinations.impl.bigquery.bigquery_adapter import (
    CLUSTER_COLUMNS_HINT,
    CLUSTER_HINT,
    PARTITION_HINT,
    PartitionTransformation,
    bigquery_adapter,
)

GRANULARITY = "MONTH"


@dataclass(frozen=True)
class Layout:
    partition: str  # a DATE or TIMESTAMP column
    partition_type: str  # "date" or "timestamp"
    cluster: tuple[str, ...]

    def partition_expression(self, column: str | None = None) -> str:
        """The PARTITION BY expression, e.g. TIMESTAMP_TRUNC(`sample_at_utc`, MONTH)."""
        column = column or self.partition
        function = "TIMESTAMP_TRUNC" if self.partition_type == "timestamp" else "DATE_TRUNC"
        return f"{function}({column}, {GRANULARITY})"

    def transformation(self) -> PartitionTransformation:
        return PartitionTransformation(self.partition_expression("{column_name}"), self.partition)


# raw table -> layout; the low-volume tables (sleep, weight, daily metrics: a row a day or less) stay plain
LAYOUTS: dict[str, Layout] = {
    # Takeout export (pipelines/fitbit/export): rows owned by files
    "fitbit_export__heart_rate": Layout("sample_at_utc", "timestamp", ("source_file", "_dlt_load_id")),
    "fitbit_export__steps": Layout("start_at_utc", "timestamp", ("source_file", "_dlt_load_id")),
    # Google Health API (pipelines/fitbit/source.py): windows replaced by window_date
    "fitbit__heart_rate_samples": Layout("window_date", "date", ("_dlt_load_id", "sample_at_utc")),
    "fitbit__steps_intervals": Layout("window_date", "date", ("_dlt_load_id", "start_at_utc")),
}


def is_bigquery(pipeline: dlt.Pipeline | None = None) -> bool:
    """Whether the current (or given) pipeline loads into BigQuery; False outside a pipeline."""
    try:
        pipeline = pipeline or dlt.current.pipeline()
    except Exception:  # no active pipeline (a source built on its own, e.g. in a unit test)
        return False
    destination = getattr(pipeline, "destination", None)
    return destination is not None and destination.destination_name == "bigquery"


def table_hints(table_name: str, pipeline: dlt.Pipeline | None = None) -> tuple[dict, dict]:
    """(column hints, additional table hints) of `table_name`'s layout for dlt.mark.make_hints; empty when the
    destination is not BigQuery or the table has no layout."""
    layout = LAYOUTS.get(table_name)
    if layout is None or not is_bigquery(pipeline):
        return {}, {}
    columns = {name: {"name": name, CLUSTER_HINT: True} for name in layout.cluster}
    return columns, {PARTITION_HINT: {layout.partition: layout.partition_expression("{column_name}")},
                     CLUSTER_COLUMNS_HINT: list(layout.cluster)}


def adapt(resource, table_name: str, pipeline: dlt.Pipeline | None = None):
    """The resource with its table's layout (dlt's bigquery_adapter) when loading into BigQuery, else as is."""
    layout = LAYOUTS.get(table_name)
    if layout is None or not is_bigquery(pipeline):
        return resource
    return bigquery_adapter(resource, partition=layout.transformation(), cluster=list(layout.cluster))


def layout_ddl(qualified_name: str, layout: Layout, select_from: str) -> str:
    """CREATE TABLE ... PARTITION BY ... CLUSTER BY ... AS SELECT * FROM `select_from` (BigQuery SQL)."""
    cluster = ", ".join(f"`{c}`" for c in layout.cluster)
    return (f"CREATE TABLE {qualified_name}\nPARTITION BY {layout.partition_expression(f'`{layout.partition}`')}"
            f"\nCLUSTER BY {cluster}\nAS SELECT * FROM {select_from}")

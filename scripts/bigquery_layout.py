"""Rebuild raw BigQuery tables created before their layout existed (pipelines/common/bigquery_layout.py).

dlt applies partitioning and clustering only when it creates a table, and BigQuery cannot change a table's
partitioning in place (`CREATE OR REPLACE` with another partition spec is refused). So, per table that lacks
its layout:

    CREATE TABLE <t>__layout PARTITION BY ... CLUSTER BY ... AS SELECT * FROM <t>
    -- row counts of both compared; on a mismatch the copy is dropped and <t> left as it was
    DROP TABLE <t>
    ALTER TABLE <t>__layout RENAME TO <t>

A run interrupted between the DROP and the RENAME is finished by the next run (it renames the copy). Run it
when no pipeline is loading (between scheduled refreshes): rows loaded during the copy would be lost.

    python -m scripts.bigquery_layout            # what it would do, and the SQL (no change)
    python -m scripts.bigquery_layout --migrate  # do it (make bigquery-migrate)

PIPELINE_DESTINATION must be bigquery; credentials come from the usual dlt config / Secret Manager.

The marts follow the same rule: fct_heart_rate_daily became an incremental model partitioned by month, and an
existing (unpartitioned) copy keeps its old layout until one `dbt build --full-refresh --select
fct_heart_rate_daily --target prod` (dbt-bigquery drops and recreates a table whose partitioning changed).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

import dlt

from pipelines.common import bigquery_layout
from pipelines.common.settings import make_pipeline

SUFFIX = "__layout"
# which pipeline owns each laid-out table (its dlt pipeline reaches the dataset and credentials)
OWNERS = {"fitbit_export": ("fitbit_export__heart_rate", "fitbit_export__steps"),
          "fitbit": ("fitbit__heart_rate_samples", "fitbit__steps_intervals")}


@dataclass(frozen=True)
class Step:
    table: str
    action: str  # "rebuild" (plain table) or "finish" (the copy is there, the original gone)
    sql: tuple[str, ...]


def has_layout(table, layout: bigquery_layout.Layout) -> bool:
    """Whether a google.cloud.bigquery Table is already partitioned and clustered as `layout` says."""
    partitioning = table.time_partitioning
    return (partitioning is not None and partitioning.field == layout.partition
            and str(partitioning.type_).upper() == bigquery_layout.GRANULARITY
            and list(table.clustering_fields or []) == list(layout.cluster))


def plan(pipeline: dlt.Pipeline) -> list[Step]:
    """The steps for the tables of `pipeline` that lack their layout (tables not there yet are left to dlt)."""
    steps = []
    with pipeline.sql_client() as client:
        bq = client.native_connection
        for name in OWNERS.get(pipeline.pipeline_name, ()):
            layout = bigquery_layout.LAYOUTS[name]
            target, copy = client.make_qualified_table_name(name), client.make_qualified_table_name(name + SUFFIX)
            dataset = f"{client.project_id}.{client.dataset_name}"
            existing = {t.table_id for t in bq.list_tables(dataset, timeout=60) if t.table_id in (name, name + SUFFIX)}
            finish = (f"ALTER TABLE {copy} RENAME TO `{name}`",)
            if name in existing:
                if has_layout(bq.get_table(f"{dataset}.{name}", timeout=60), layout):
                    continue
                drop_stale = (f"DROP TABLE IF EXISTS {copy}",)
                steps.append(Step(name, "rebuild", drop_stale + (bigquery_layout.layout_ddl(copy, layout, target),
                                                                 f"DROP TABLE {target}") + finish))
            elif name + SUFFIX in existing:
                steps.append(Step(name, "finish", finish))
    return steps


def migrate(pipeline: dlt.Pipeline, steps: list[Step]) -> None:
    with pipeline.sql_client() as client:
        for step in steps:
            target = client.make_qualified_table_name(step.table)
            copy = client.make_qualified_table_name(step.table + SUFFIX)
            for sql in step.sql:
                if sql.startswith("DROP TABLE ") and not sql.startswith("DROP TABLE IF EXISTS"):
                    # the copy must hold every row before the original goes
                    [(old, new)] = client.execute_sql(f"SELECT (SELECT COUNT(*) FROM {target}), "
                                                      f"(SELECT COUNT(*) FROM {copy})")
                    if old != new:
                        client.execute_sql(f"DROP TABLE {copy}")
                        raise RuntimeError(f"{step.table}: the copy holds {new} rows, the table {old}; left as it was")
                client.execute_sql(sql)
            print(f"{step.table}: migrated", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--migrate", action="store_true", help="run the statements (default: only print them)")
    parser.add_argument("--pipeline", choices=sorted(OWNERS), action="append",
                        help="only this pipeline's tables (repeatable; default: all)")
    args = parser.parse_args(argv)
    if os.environ.get("PIPELINE_DESTINATION", "duckdb").strip().lower() != "bigquery":
        print("PIPELINE_DESTINATION is not bigquery: the layout is BigQuery's only, nothing to do", file=sys.stderr)
        return 2
    for name in args.pipeline or sorted(OWNERS):
        pipeline = make_pipeline(name)
        steps = plan(pipeline)
        if not steps:
            print(f"[{name}] every table has its layout (or is not there yet): nothing to do")
            continue
        for step in steps:
            print(f"[{name}] {step.table}: {step.action}\n" + ";\n".join(step.sql) + ";")
        if args.migrate:
            migrate(pipeline, steps)
        else:
            print(f"[{name}] dry run: `--migrate` (make bigquery-migrate) runs these")
    print("then, once: dbt build --full-refresh --select fct_heart_rate_daily --target prod (the mart's partitions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

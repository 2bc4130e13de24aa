"""Tables older versions of both Fitbit pipelines wrote, under shared names (/tmp/health_design.md "LEGACY").

Nothing writes them any more; their rows stay and the legacy staging models read them. An existing warehouse's
dlt schemas ("fitbit_export", "fitbit") may still list them, and a full refresh (`refresh="drop_sources"`)
drops every table its schema lists: so before each run they are dropped from the pipeline's stored schema
(not from the warehouse), after which dlt no longer manages them and no refresh can touch them.
"""

from __future__ import annotations

import sys

import dlt

LEGACY_TABLES = ("fitbit__sleep", "fitbit__daily_activity", "fitbit__heart_rate_daily",
                 "fitbit__heart_rate_intraday", "fitbit__weight", "fitbit__export_files")


def forget_legacy_tables(pipeline: dlt.Pipeline, schema_name: str, tables: tuple[str, ...] = LEGACY_TABLES,
                         log_prefix: str | None = None) -> list[str]:
    """Remove `tables` from the pipeline's stored schema `schema_name` (the warehouse keeps them and their rows).

    The local schema is first brought in line with the destination (an ephemeral runner has none), then the
    tables are dropped from it and it is saved: the run stores that schema version in the destination, so the
    next restore does not bring them back. Returns the tables that were forgotten.
    """
    pipeline.sync_destination()
    if schema_name not in pipeline.schemas:
        return []
    schema = pipeline.schemas[schema_name]
    present = [t for t in tables if t in schema.tables]
    if present:
        schema.drop_tables(present)
        pipeline.schemas.save_schema(schema)
        if log_prefix:
            print(f"{log_prefix} legacy tables no longer managed by this pipeline (their rows stay, read by legacy "
                  f"staging): {', '.join(present)}", file=sys.stderr)
    return present

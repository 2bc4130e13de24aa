"""`make status`: which sources are loaded, pipeline health (marts.pipeline_health) and the latest runs (the ledger).

It reads the configured destination, the same one the pipelines write to: `PIPELINE_DESTINATION` (duckdb by
default, postgres, bigquery), or, when only `DBT_TARGET` is set, the destination of that dbt target. The
first line says which warehouse it read. A source that has not been loaded is named with the command that
loads it, never left as a database's "table does not exist".
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from pipelines.common.errors import one_line_error
from pipelines.common.run_ledger import LEDGER_TABLE, ops_dataset
from pipelines.common.settings import DESTINATIONS, raw_dataset, warehouse_path
from pipelines.common.warehouse_guard import LOAD_COMMANDS, load_command, missing_source_message

HEALTH_COLUMNS = ["source_name", "freshness_status", "last_success_at", "hours_since_success", "last_success_rows",
                  "last_success_api_requests", "last_run_status", "failed_runs_since_success", "last_run_error"]
RUN_COLUMNS = ["finished_at", "source", "status", "mode", "total_rows", "api_requests", "error_summary"]
DBT_TARGET_DESTINATIONS = {"dev": "duckdb", "postgres": "postgres", "prod": "bigquery", "emulator": "bigquery"}


def table(headers: list[str], rows: list[tuple]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M")
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def status_destination() -> tuple[str, str]:
    """(destination, why): PIPELINE_DESTINATION, else what DBT_TARGET builds on, else DuckDB."""
    if os.environ.get("PIPELINE_DESTINATION", "").strip():
        name = os.environ["PIPELINE_DESTINATION"].strip().lower()
        if name not in DESTINATIONS:
            raise SystemExit(f"PIPELINE_DESTINATION={name!r} is not one of {', '.join(DESTINATIONS)}")
        return name, f"PIPELINE_DESTINATION={name}"
    target = os.environ.get("DBT_TARGET", "").strip()
    if target in DBT_TARGET_DESTINATIONS:
        return DBT_TARGET_DESTINATIONS[target], f"DBT_TARGET={target}"
    return "duckdb", "the default; PIPELINE_DESTINATION picks another"


def marts_schema() -> str:
    return os.environ.get("MARTS_SCHEMA", "marts")


class DuckDBReader:
    """Read-only, one connection closed at the end: DuckDB locks the file for any open connection."""

    def __init__(self, con):
        self.con = con

    def tables(self, schema: str) -> set[str]:
        return {t for (t,) in self.con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()}

    def rows(self, schema: str, name: str, columns: list[str], order: str, limit: int | None = None) -> list[tuple]:
        sql = f'select {", ".join(columns)} from "{schema}"."{name}" order by {order}'
        return self.con.execute(sql + (f" limit {int(limit)}" if limit else "")).fetchall()


class DltReader:
    """Postgres and BigQuery through dlt's own SQL client, with the credentials the pipelines use."""

    def __init__(self, client, destination: str):
        self.client, self.destination = client, destination

    def tables(self, schema: str) -> set[str]:
        with self.client.with_alternative_dataset_name(schema):
            if self.destination == "bigquery":
                sql = f"select table_name from {self.client.fully_qualified_dataset_name()}.INFORMATION_SCHEMA.TABLES"
                return {t for (t,) in self.client.execute_sql(sql) or []}
            return {t for (t,) in self.client.execute_sql(
                "select table_name from information_schema.tables where table_schema = %s", schema) or []}

    def rows(self, schema: str, name: str, columns: list[str], order: str, limit: int | None = None) -> list[tuple]:
        with self.client.with_alternative_dataset_name(schema):
            sql = f"select {', '.join(columns)} from {self.client.make_qualified_table_name(name)} order by {order}"
            return [tuple(r) for r in self.client.execute_sql(sql + (f" limit {int(limit)}" if limit else "")) or []]


@contextmanager
def open_reader(destination: str) -> Iterator[DuckDBReader | DltReader]:
    if destination == "duckdb":
        import duckdb

        con = duckdb.connect(str(warehouse_path()), read_only=True)
        try:
            yield DuckDBReader(con)
        finally:
            con.close()
        return
    import dlt

    from pipelines.common.settings import destination as configured_destination

    os.environ["PIPELINE_DESTINATION"] = destination  # settings.destination() reads it
    with tempfile.TemporaryDirectory(prefix="status-") as work:
        pipeline = dlt.pipeline(pipeline_name="status", destination=configured_destination(),
                                dataset_name=ops_dataset(), pipelines_dir=work, dev_mode=False, full_refresh=None)
        with pipeline.sql_client() as client:
            yield DltReader(client, destination)


def describe(destination: str, why: str) -> str:
    if destination == "duckdb":
        return f"DuckDB file {warehouse_path()} ({why})"
    if destination == "postgres":
        url = os.environ.get("DESTINATION__POSTGRES__CREDENTIALS", "")
        where = url.rsplit("@", 1)[-1] if "@" in url else "the credentials in .dlt/secrets.toml"
        return f"Postgres {where} ({why})"
    return f"BigQuery project {os.environ.get('GCP_PROJECT') or '(from credentials)'} ({why})"


def sources_section(reader) -> list[str]:
    raw = raw_dataset()
    tables = {t for t in reader.tables(raw) if not t.startswith("_dlt")}
    lines = [f"sources (dataset {raw})"]
    for source in LOAD_COMMANDS:
        own = sorted(t for t in tables if t.startswith(f"{source}__") and not t.endswith("__rejected"))
        if own:
            lines.append(f"  {source:<14} loaded: {len(own)} tables")
        else:
            lines.append(f"  {source:<14} not loaded yet: run `{load_command(source)}` (settings: make setup)")
    return lines


def main(limit: int = 10) -> int:
    destination, why = status_destination()
    if destination == "duckdb" and not warehouse_path().exists():
        print(f"no warehouse at {warehouse_path()} ({why}): run a pipeline first, e.g. `make notion` "
              f"(the demo's warehouse: `make status DEMO=1`)")
        return 1
    print(f"warehouse: {describe(destination, why)}\n")
    try:
        with open_reader(destination) as reader:
            print("\n".join(sources_section(reader)))
            print()
            marts = marts_schema()
            if "pipeline_health" in reader.tables(marts):
                rows = _rows(reader, marts, "pipeline_health", HEALTH_COLUMNS, "source_name")
                print(f"pipeline health ({marts}.pipeline_health, as of the last dbt build)")
                print(table(HEALTH_COLUMNS, rows) if rows else "  no pipeline has run yet")
            else:
                print(f"{marts}.pipeline_health is not built yet: run `make dbt-build`")
            ledger = ops_dataset()
            if LEDGER_TABLE in reader.tables(ledger):
                rows = _rows(reader, ledger, LEDGER_TABLE, RUN_COLUMNS, "finished_at desc", limit)
                print(f"\nlatest runs ({ledger}.{LEDGER_TABLE})")
                print(table(RUN_COLUMNS, rows))
            else:
                print(f"\nno run ledger yet ({ledger}.{LEDGER_TABLE} appears with the first pipeline run)")
    except _StatusError as exc:
        print(exc, file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - one clear line (which warehouse, what failed), never a traceback
        print(f"could not read {describe(destination, why)}: {missing_source_message(exc) or one_line_error(exc)}",
              file=sys.stderr)
        return 1
    return 0


class _StatusError(RuntimeError):
    pass


def _rows(reader, schema: str, name: str, columns: list[str], order: str, limit: int | None = None) -> list[tuple]:
    try:
        return reader.rows(schema, name, columns, order, limit)
    except Exception as exc:  # a mart over a source table that is gone: say which source, not "Catalog Error"
        message = missing_source_message(exc)
        if message:
            raise _StatusError(f"{schema}.{name}: {message}") from exc
        raise


if __name__ == "__main__":
    sys.exit(main())

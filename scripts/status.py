"""Prints pipeline health (marts.pipeline_health) and the latest runs from the ledger of the local DuckDB warehouse."""

from __future__ import annotations

import sys

import duckdb

from pipelines.common.run_ledger import LEDGER_TABLE, ops_dataset
from pipelines.common.settings import warehouse_path

HEALTH_COLUMNS = ["source_name", "freshness_status", "last_success_at", "hours_since_success", "last_success_rows",
                  "last_success_api_requests", "last_run_status", "failed_runs_since_success", "last_run_error"]
RUN_COLUMNS = ["finished_at", "source", "status", "mode", "total_rows", "api_requests", "error_summary"]


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


def _exists(con, schema: str, name: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                            [schema, name]).fetchall()[0][0])


def main(limit: int = 10) -> int:
    path = warehouse_path()
    if not path.exists():
        print(f"no warehouse at {path}: run `make demo` (or a pipeline) first")
        return 1
    con = duckdb.connect(str(path), read_only=True)  # closed below: DuckDB locks the file
    try:
        print(f"warehouse: {path}\n")
        if _exists(con, "marts", "pipeline_health"):
            rows = con.execute(f"select {', '.join(HEALTH_COLUMNS)} from marts.pipeline_health "
                               "order by source_name").fetchall()
            print("pipeline health (marts.pipeline_health, as of the last dbt build)")
            print(table(HEALTH_COLUMNS, rows) if rows else "  no pipeline has run yet")
        else:
            print("marts.pipeline_health is not built yet: run `make dbt-build`")
        ledger = ops_dataset()
        if _exists(con, ledger, LEDGER_TABLE):
            rows = con.execute(f"select {', '.join(RUN_COLUMNS)} from {ledger}.{LEDGER_TABLE} "
                               f"order by finished_at desc limit {int(limit)}").fetchall()
            print(f"\nlatest runs ({ledger}.{LEDGER_TABLE})")
            print(table(RUN_COLUMNS, rows))
        else:
            print(f"\nno run ledger yet ({ledger}.{LEDGER_TABLE} appears with the first pipeline run)")
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

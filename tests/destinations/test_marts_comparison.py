"""The cross-destination mart comparison treats engine type quirks as equal and real differences as different."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from scripts.dbt_build import buildable_nodes, source_tables
from tests.destinations.marts import mart_relations, table_diff

COLUMNS = ["habit_id", "rate", "period_start_date", "last_edited_at", "_dlt_load_id", "built_at"]
DUCK_ROW = ("a", 0.5, date(2025, 1, 6), datetime(2025, 1, 6, 9, 30), "1700000000.1", datetime(2026, 1, 1))


def pg_row(**changes):
    row = {"habit_id": "a", "rate": Decimal("0.500"), "period_start_date": date(2025, 1, 6),
           "last_edited_at": datetime(2025, 1, 6, 10, 30, tzinfo=timezone(timedelta(hours=1))),
           "_dlt_load_id": "1800000000.2", "built_at": datetime(2026, 1, 2)}
    return tuple({**row, **changes}.values())


def diff(duck_rows, pg_rows, pg_columns=COLUMNS):
    return table_diff("t", (COLUMNS, pg_columns), (duck_rows, pg_rows), ("duckdb", "postgres"))


def test_engine_representations_of_the_same_values_are_equal():
    assert diff([DUCK_ROW], [pg_row()]) is None


def test_a_changed_value_a_missing_row_or_a_missing_column_is_reported():
    assert "only on postgres: [('a', 0.667" in diff([DUCK_ROW], [pg_row(rate=Decimal("0.667"))])
    assert "1 rows on duckdb, 0 on postgres" in diff([DUCK_ROW], [])
    assert "columns differ" in diff([DUCK_ROW], [pg_row()[:4]], pg_columns=COLUMNS[:4])
    later = datetime(2025, 1, 6, 9, 31, tzinfo=UTC)
    assert diff([DUCK_ROW], [pg_row(last_edited_at=later)]) is not None


def test_run_times_are_ignored_in_the_ops_marts_only():
    columns = ["source_name", "duration_seconds", "total_rows"]
    a, b = [("notion", 4.2, 10)], [("notion", 5.9, 10)]
    assert table_diff("fct_pipeline_runs", (columns, columns), (a, b), ("duckdb", "postgres")) is None
    # the same column name in a data mart is data: a difference there is reported
    assert table_diff("fct_engagements", (columns, columns), (a, b), ("duckdb", "postgres")) is not None
    # what a run loaded is compared in the ops marts too
    assert table_diff("fct_pipeline_runs", (columns, columns), (a, [("notion", 4.2, 11)]), ("duckdb", "postgres"))


def test_only_nodes_whose_sources_are_loaded_are_built_and_only_marts_are_compared():
    def node(name, path, *deps):
        return {"name": name, "resource_type": "model", "schema": "marts", "alias": name,
                "original_file_path": path, "depends_on": {"nodes": list(deps)}}

    manifest = {
        "sources": {"source.p.notion.pages": {"source_name": "notion", "name": "pages"},
                    "source.p.hubspot.contacts": {"source_name": "hubspot", "name": "contacts"}},
        "nodes": {
            "model.p.stg_pages": node("stg_pages", "models/staging/notion/stg_pages.sql", "source.p.notion.pages"),
            "model.p.dim_date": node("dim_date", "models/marts/dim_date.sql"),
            "model.p.habits": node("habits", "models/marts/habits/habits.sql", "model.p.stg_pages", "model.p.dim_date"),
            "model.p.crm": node("crm", "models/marts/crm/crm.sql", "source.p.hubspot.contacts"),
            "model.p.daily": node("daily", "models/marts/daily.sql", "model.p.habits", "model.p.crm"),
        },
    }
    selected = buildable_nodes(manifest, source_tables(manifest, {"notion"}))
    assert selected == ["dim_date", "habits", "stg_pages"]
    assert mart_relations(manifest, selected) == {"dim_date": "marts.dim_date", "habits": "marts.habits"}
    assert set(buildable_nodes(manifest, source_tables(manifest, {"notion", "hubspot"}))) == {
        "stg_pages", "dim_date", "habits", "crm", "daily"}

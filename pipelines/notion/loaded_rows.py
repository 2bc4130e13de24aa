"""What earlier runs loaded into the raw Notion tables, read back from the destination during a run.

The reconcile anti-joins Notion's live page ids against these rows, and a page found gone keeps its
last loaded content with is_deleted = true. Every read goes through dlt's SQL client for the running
pipeline, so it works on each destination (DuckDB, Postgres, BigQuery); a read that fails raises
RawTablesUnreadable and the caller does the safe thing (deletes nothing, re-sends the data sources).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import dlt

PAGES = "notion__habit_pages"
PAGE_PROPERTIES = "notion__habit_pages__properties"
DATA_SOURCES = "notion__data_sources"
DATA_SOURCE_PROPERTIES = "notion__data_sources__properties"


class RawTablesUnreadable(RuntimeError):
    """The raw tables could not be read (missing, another layout, destination unreachable)."""


@contextmanager
def _sql() -> Iterator:
    try:
        with dlt.current.pipeline().sql_client() as client:
            yield client
    except RawTablesUnreadable:
        raise
    except Exception as exc:  # noqa: BLE001 - any destination error means "unknown", never a crash
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        raise RawTablesUnreadable(f"{type(exc).__name__}: {first_line}") from exc


def _rows(client, sql: str, *args) -> list[dict]:
    with client.execute_query(sql, *args) as cursor:
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _placeholders(values: list) -> str:
    return ", ".join(["%s"] * len(values))


def live_page_ids(data_source_id: str) -> set[str]:
    """Ids of the pages of a data source that raw holds as live (not is_deleted)."""
    with _sql() as client:
        rows = _rows(client, f"select page_id from {client.make_qualified_table_name(PAGES)} "
                             "where data_source_id = %s and coalesce(is_deleted, false) = false", data_source_id)
    return {r["page_id"] for r in rows}


def page_rows(page_ids: list[str]) -> dict[str, dict]:
    """The loaded row of each page (dlt's own columns dropped), its property values under `properties`."""
    if not page_ids:
        return {}
    with _sql() as client:
        pages_table = client.make_qualified_table_name(PAGES)
        pages = _rows(client, f"select * from {pages_table} where page_id in ({_placeholders(page_ids)})", *page_ids)
        children = _rows(client, f"select c.* from {client.make_qualified_table_name(PAGE_PROPERTIES)} c "
                                 f"join {pages_table} p on c._dlt_parent_id = p._dlt_id "
                                 f"where p.page_id in ({_placeholders(page_ids)})", *page_ids)
    by_parent: dict[str, list[dict]] = defaultdict(list)
    for child in sorted(children, key=lambda c: c.get("_dlt_list_idx") or 0):
        by_parent[child["_dlt_parent_id"]].append(_without_dlt_columns(child))
    out: dict[str, dict] = {}
    # a page loaded twice (it should not be) keeps its latest version
    for page in sorted(pages, key=lambda p: (str(p.get("last_edited_time")), str(p.get("_dlt_load_id")))):
        out[page["page_id"]] = {**_without_dlt_columns(page), "properties": by_parent.get(page["_dlt_id"], [])}
    return out


def data_source_rows() -> dict[str, list[tuple[str | None, int]]]:
    """Per data source id, each loaded row as (schema_hash, number of property rows under it)."""
    with _sql() as client:
        parent = client.make_qualified_table_name(DATA_SOURCES)
        child = client.make_qualified_table_name(DATA_SOURCE_PROPERTIES)
        rows = _rows(client, f"select p.data_source_id, p.schema_hash, p._dlt_id, count(c._dlt_id) as property_rows "
                             f"from {parent} p left join {child} c on c._dlt_parent_id = p._dlt_id "
                             "group by p.data_source_id, p.schema_hash, p._dlt_id")
    out: dict[str, list[tuple[str | None, int]]] = defaultdict(list)
    for r in rows:
        out[r["data_source_id"]].append((r["schema_hash"], int(r["property_rows"])))
    return dict(out)


def _without_dlt_columns(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith("_dlt_")}

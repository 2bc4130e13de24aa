"""Notion habit trackers -> raw.notion__* (daily, weekly and monthly habit databases)."""

from __future__ import annotations

from collections.abc import Iterator

import dlt

from pipelines.common.incremental_window import LagWindowFilter, content_hash, iso_ms
from pipelines.notion.client import HabitDataSource, discover, flatten_page, notion_client, query_pages
from pipelines.notion.settings import API_BASE_URL, EPOCH, LAG_SECONDS, NOTION_VERSION


@dlt.source(name="notion", section="notion")
def notion_source(
    databases: dict[str, str] = dlt.config.value,
    api_token: str = dlt.secrets.value,
    api_base_url: str = API_BASE_URL,
    notion_version: str = NOTION_VERSION,
    date_property: str | None = None,
    lag_seconds: int = LAG_SECONDS,
):
    """Habit databases keyed by frequency (`{"daily": "<database id>", ...}`) from config; token from secrets."""
    client = notion_client(api_base_url, api_token, notion_version)
    data_sources = discover(client, databases, date_property)
    return (
        notion__data_sources(data_sources),
        notion__habit_pages(client, data_sources, dlt.sources.incremental(
            "last_edited_time", initial_value=EPOCH, lag=lag_seconds, primary_key=())),
    )


@dlt.resource(primary_key="data_source_id", write_disposition="merge")
def notion__data_sources(data_sources: list[HabitDataSource]) -> Iterator[dict]:
    """The current schema of each habit data source: property id -> current name (renames show here).

    Re-read every run (three cheap GETs); loaded only when a schema changed.
    """
    state = dlt.current.resource_state()
    hashes: dict[str, str] = state.setdefault("schema_hashes", {})
    for ds in data_sources:
        row = {"data_source_id": ds.data_source_id, "database_id": ds.database_id, "frequency": ds.frequency,
               "title": ds.title, "properties": [{**p, "data_source_id": ds.data_source_id} for p in ds.properties]}
        digest = content_hash(row)
        if hashes.get(ds.data_source_id) != digest:
            hashes[ds.data_source_id] = digest
            yield row


@dlt.resource(primary_key="page_id", write_disposition="merge")
def notion__habit_pages(
    client,
    data_sources: list[HabitDataSource],
    last_edited_time=dlt.sources.incremental("last_edited_time", initial_value=EPOCH),
) -> Iterator[dict]:
    """Habit pages edited since the cursor minus a lag (Notion rounds edit times to the minute).

    Trashed pages come back with is_deleted = true. Rows re-read inside the lag window are dropped
    when their content hash is unchanged, so a run with nothing new loads nothing.
    """
    seen = LagWindowFilter(dlt.current.resource_state())
    floor = iso_ms(last_edited_time.last_value)
    newest = floor
    for ds in data_sources:
        for page in query_pages(client, ds, floor):
            row = flatten_page(page, ds)
            newest = max(newest, row["last_edited_time"])
            if seen.is_new(row["content_hash"], row["last_edited_time"]):
                yield row
    seen.save(window_start=iso_ms(newest, last_edited_time.lag or 0))


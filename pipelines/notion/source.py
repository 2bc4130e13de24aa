"""Notion habit trackers -> raw.notion__* (daily, weekly and monthly habit databases)."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import dlt

from pipelines.common.errors import SourceError
from pipelines.common.incremental_window import content_hash
from pipelines.common.rejected import reject
from pipelines.notion import loaded_rows
from pipelines.notion.client import HabitDataSource, discover, list_page_ids, notion_client, query_pages
from pipelines.notion.cursors import DataSourceCursor, data_source_cursors
from pipelines.notion.pages import TEXT_COLUMNS, flatten_page
from pipelines.notion.settings import API_BASE_URL, EPOCH, LAG_SECONDS, NOTION_VERSION, RECONCILE

LOG = "[notion]"


@dlt.source(name="notion", section="notion")
def notion_source(
    databases: dict[str, str] = dlt.config.value,
    api_token: str = dlt.secrets.value,
    api_base_url: str = API_BASE_URL,
    notion_version: str = NOTION_VERSION,
    date_property: str | None = None,
    lag_seconds: int = LAG_SECONDS,
    reconcile: str = RECONCILE,
):
    """Habit databases keyed by frequency (`{"daily": "<database id>", ...}`) from config; token from secrets.

    `reconcile`: how often deletions are looked for, "every_run" (default), "off", or N (every N-th run).
    """
    every = reconcile_every(reconcile)
    # property values stay text: without this dlt types a column by its first value, and a datetime
    # date ("2024-05-01T07:30:00.000+02:00") would make it a timestamp and send every other value aside
    dlt.current.source_schema().update_preferred_types({f"re:^{column}$": "text" for column in TEXT_COLUMNS})
    client = notion_client(api_base_url, api_token, notion_version)
    data_sources = discover(client, databases, date_property)
    return (
        notion__data_sources(data_sources),
        notion__habit_pages(client, data_sources, lag_seconds, every),
    )


def reconcile_every(setting: str | int) -> int:
    """`sources.notion.reconcile` as "reconcile every N-th run" (0: never)."""
    text = str(setting).strip().lower().replace("-", "_")
    if text in ("every_run", "always", "1"):
        return 1
    if text in ("off", "never", "0", "false", "none"):
        return 0
    if text.isdigit():
        return int(text)
    raise SourceError(f"sources.notion.reconcile = {setting!r} is not 'every_run', 'off' or a number N "
                      "(reconcile every N-th run)")


@dlt.resource(primary_key="data_source_id", write_disposition="merge")
def notion__data_sources(data_sources: list[HabitDataSource]) -> Iterator[dict]:
    """The current schema of each habit data source: property id -> current name (renames show here).

    Re-read every run (three cheap GETs). A data source is loaded when its schema changed, or when raw
    does not hold exactly one complete row with its current schema (a load killed half-way, a table
    edited by hand): the merge on data_source_id then replaces whatever is there.
    """
    state = dlt.current.resource_state()
    loaded: dict[str, str] = state.setdefault("loaded_schema_hashes", {})
    rows = [_data_source_row(ds) for ds in data_sources]
    in_raw: dict[str, list[tuple[str | None, int]]] | None = {}
    if any(loaded.get(r["data_source_id"]) == r["schema_hash"] for r in rows):
        try:
            in_raw = loaded_rows.data_source_rows()
        except loaded_rows.RawTablesUnreadable:
            in_raw = None  # cannot check: send them all, the merge makes that harmless
    for row in rows:
        ds_id, digest = row["data_source_id"], row["schema_hash"]
        intact = in_raw is not None and in_raw.get(ds_id) == [(digest, len(row["properties"]))]
        if loaded.get(ds_id) != digest or not intact:
            loaded[ds_id] = digest
            yield row


def _data_source_row(ds: HabitDataSource) -> dict:
    row = {"data_source_id": ds.data_source_id, "database_id": ds.database_id, "frequency": ds.frequency,
           "title": ds.title, "properties": [{**p, "data_source_id": ds.data_source_id} for p in ds.properties]}
    return {**row, "schema_hash": content_hash(row)}


@dlt.resource(primary_key="page_id", write_disposition="merge")
def notion__habit_pages(
    client,
    data_sources: list[HabitDataSource],
    lag_seconds: int = LAG_SECONDS,
    reconcile_every: int = 1,
) -> Iterator[dict]:
    """Live habit pages, each data source read from its own last_edited_time cursor (kept in resource state).

    Rows re-read inside the lag window (Notion rounds edit times to the minute) are dropped when their
    content hash is unchanged, so a run with nothing new loads nothing. A page that cannot be read goes
    to raw.notion__rejected. Deletions: an id-only reconcile of each data source (every N-th run) marks
    pages raw holds as live, and Notion no longer lists, is_deleted = true, keeping their last content.
    """
    cursors, notes = data_source_cursors(dlt.current.resource_state(), dlt.current.source_state(),
                                         data_sources, lag_seconds)
    for note in notes:
        print(f"{LOG} {note}")
    loaded_now: set[str] = set()
    for cursor in cursors:
        print(f"{LOG} {cursor.describe()}")
        yield from _changed_pages(client, cursor, loaded_now)
    for cursor in cursors:
        reconciled = False
        if cursor.reconcile_due(reconcile_every):
            reconciled = yield from _reconcile(client, cursor, loaded_now)
        cursor.save(reconciled)


def _changed_pages(client, cursor: DataSourceCursor, loaded_now: set[str]) -> Iterator[dict]:
    ds = cursor.ds
    for page in query_pages(client, ds, cursor.floor):
        key = page.get("id") if isinstance(page, dict) else None
        try:
            row = flatten_page(page, ds)
        except Exception as exc:  # noqa: BLE001 - one bad page never blocks the source (design: rejected records)
            yield reject("notion", "habit_pages", f"{type(exc).__name__}: {exc}", page, key=key,
                         origin=ds.query_endpoint)
            continue
        if cursor.is_new(row):
            loaded_now.add(row["page_id"])
            yield row


def _reconcile(client, cursor: DataSourceCursor, loaded_now: set[str]) -> Generator[dict, None, bool]:
    """Tombstones for pages raw holds as live that a complete id-only listing no longer has; True when complete.

    The listing also heals the other direction: live pages that raw lacks (a cursor that got ahead of them,
    e.g. one migrated from a loader whose query saw only trashed pages, or a page restored from the trash
    without a new edit time) are read again from the start of the data source and loaded.

    Nothing is marked deleted unless the listing reached its end (has_more false) with no error and
    no result-cap warning, and raw could be read. A page loaded earlier in this run is left for the next
    reconcile, so one load never holds two versions of it.
    """
    ds = cursor.ds
    listing = list_page_ids(client, ds)
    if listing.incomplete:
        print(f"{LOG} {ds.label}: reconcile incomplete ({listing.incomplete}): nothing marked deleted, "
              "it runs again next time")
        return False
    try:
        live_in_raw = loaded_rows.live_page_ids(ds.data_source_id)
        gone = sorted(live_in_raw - listing.ids - loaded_now)
        previous = loaded_rows.page_rows(gone)
    except loaded_rows.RawTablesUnreadable as exc:
        print(f"{LOG} {ds.label}: reconcile could not read raw ({exc}): nothing marked deleted")
        return False
    for page_id in gone:
        row = previous.get(page_id) or {"page_id": page_id, "database_id": ds.database_id,
                                        "data_source_id": ds.data_source_id, "frequency": ds.frequency}
        yield {**row, "is_deleted": True}
    missing = listing.ids - live_in_raw - loaded_now
    if missing:
        found = 0
        for page in query_pages(client, ds, EPOCH):
            if not (isinstance(page, dict) and page.get("id") in missing):
                continue
            try:
                row = flatten_page(page, ds)
            except Exception as exc:  # noqa: BLE001 - rejected as on its own read (same row id: no growth)
                yield reject("notion", "habit_pages", f"{type(exc).__name__}: {exc}", page, key=page["id"],
                             origin=ds.query_endpoint)
                continue
            cursor.is_new(row)
            found += 1
            yield row
        print(f"{LOG} {ds.label}: reconcile: {len(missing)} live pages were missing from raw, {found} loaded")
    print(f"{LOG} {ds.label}: reconcile: {len(listing.ids)} live pages in Notion, {len(gone)} marked deleted")
    return True

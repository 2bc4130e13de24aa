"""HubSpot CRM -> raw.hubspot__* (contacts, companies, engagements with their contact/company associations)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import dlt
from dlt.extract.resource import DltResource
from dlt.sources.helpers.rest_client import RESTClient

from pipelines.common.incremental_window import LagWindowFilter, iso_ms
from pipelines.common.rejected import reject
from pipelines.hubspot.client import (
    SearchThrottle,
    archived_endpoint,
    engagement_associations,
    flatten,
    hubspot_client,
    list_archived,
    pace_searches,
    properties_for,
    record_problem,
    search_endpoint,
    search_modified,
)
from pipelines.hubspot.settings import (
    API_BASE_URL,
    ENGAGEMENT_TYPES,
    EPOCH,
    LAG_SECONDS,
    OBJECT_TABLES,
    SEARCH_PAGE_SIZE,
    SEARCH_REQUESTS_PER_SECOND,
)

# updated_at's dedup_sort: a record read twice in one run (edited while we paged, or a lagging search index)
# keeps its newest version when dlt de-duplicates the load by id (api reference 2.6)
_META_COLUMNS = {"created_at": {"data_type": "text"},
                 "updated_at": {"data_type": "text", "dedup_sort": "desc"},
                 "archived_at": {"data_type": "text"}, "is_deleted": {"data_type": "bool"},
                 "invalid_reason": {"data_type": "text"}, "content_hash": {"data_type": "text"}}


@dlt.source(name="hubspot", section="hubspot")
def hubspot_source(
    api_token: str = dlt.secrets.value,
    api_base_url: str = API_BASE_URL,
    properties: dict[str, list[str]] | None = None,
    lag_seconds: int = LAG_SECONDS,
    search_page_size: int = SEARCH_PAGE_SIZE,
    search_requests_per_second: float = SEARCH_REQUESTS_PER_SECOND,
):
    """Contacts, companies and engagements; `properties` ({"contacts": [...], ...}) replaces the defaults per type.

    Searches are paced at `search_requests_per_second` (HubSpot allows about 4 a second per account; 0 turns the
    pacing off).
    """
    client = pace_searches(hubspot_client(api_base_url, api_token), SearchThrottle(search_requests_per_second))
    search = {"page_size": search_page_size}
    return [crm_resource(table, client, {t: properties_for(t, properties) for t in object_types}, search, lag_seconds)
            for table, object_types in OBJECT_TABLES.items()]


def crm_resource(table: str, client: RESTClient, properties: dict[str, list[str]], search: dict,
                 lag_seconds: int) -> DltResource:
    """The one definition behind every raw.hubspot__<table>: records of `properties`' object types modified since
    the cursor minus a lag (search API), plus archived ones marked is_deleted; merged on id.

    Every property stays a string column even when no value has been seen yet (staging casts them).
    Engagements (calls, emails, meetings, notes, tasks in one table, `engagement_type`) carry their contacts and
    companies as the nested table hubspot__engagements__associations (v4 associations, read only for changed rows).
    A record without an id or with an unreadable createdAt/updatedAt goes to raw.hubspot__rejected (entity `table`).
    Merged with delete-insert: when one id comes twice in a run, `dedup_sort` on updated_at keeps the newest.
    """
    columns = {n: {"data_type": "text", "nullable": True} for props in properties.values() for n in props}
    resource = dlt.resource(_records, name=f"hubspot__{table}", primary_key="id",
                            write_disposition={"disposition": "merge", "strategy": "delete-insert"},
                            columns={**columns, **_META_COLUMNS})
    # rejected records (their own table) carry no updated_at: the cursor lets them through
    return resource(client, table, properties, search, dlt.sources.incremental(
        "updated_at", initial_value=EPOCH, lag=lag_seconds, primary_key=(), on_cursor_value_missing="include"))


def _records(client: RESTClient, table: str, properties: dict[str, list[str]], search: dict,
             updated_at=dlt.sources.incremental("updated_at", initial_value=EPOCH)) -> Iterator[dict]:
    if set(properties) <= set(ENGAGEMENT_TYPES):
        yield from _with_associations(client, table, properties, search, updated_at)
    else:
        yield from _changed(client, table, properties, search, updated_at)


def _with_associations(client: RESTClient, table: str, properties: dict[str, list[str]], search: dict,
                       cursor) -> Iterator[dict]:
    for batch in _batched(_changed(client, table, properties, search, cursor), 1000):
        rows = [r for r in batch if isinstance(r, dict)]
        yield from (r for r in batch if not isinstance(r, dict))  # rejected records
        for engagement_type in ENGAGEMENT_TYPES:
            live = [r["id"] for r in rows if r["engagement_type"] == engagement_type and not r["is_deleted"]]
            links = engagement_associations(client, engagement_type, live) if live else {}
            for row in (r for r in rows if r["engagement_type"] == engagement_type):
                row["associations"] = [{"engagement_id": row["id"], **a} for a in links.get(row["id"], [])]
                yield row


def _changed(client: RESTClient, table: str, properties: dict[str, list[str]], search: dict,
             cursor) -> Iterator[dict]:
    """Rows modified since the lagged cursor, then archived rows; row versions already loaded are skipped.
    A record that breaks the contract is yielded as a rejected record instead (the rest goes on)."""
    seen = LagWindowFilter(dlt.current.resource_state())
    since = iso_ms(cursor.last_value)
    until = iso_ms(datetime.now(UTC))
    newest = since
    for object_type, props in properties.items():
        records = search_modified(client, object_type, props, since, until, search["page_size"])
        for origin, source in ((search_endpoint(object_type), records),
                               (archived_endpoint(object_type), list_archived(client, object_type, props))):
            for record in source:
                problem = record_problem(record, object_type)
                if problem:
                    key = record.get("id") if isinstance(record, dict) else None
                    yield reject("hubspot", table, problem, record, key=None if key is None else str(key),
                                 origin=origin)
                    continue
                row = flatten(record, object_type, props)
                if object_type in ENGAGEMENT_TYPES:
                    row["engagement_type"] = object_type
                newest = max(newest, row["updated_at"])
                if row["updated_at"] < since or not seen.is_new(row["content_hash"], row["updated_at"]):
                    continue
                yield row
    seen.save(iso_ms(newest, cursor.lag or 0))


def _batched(rows: Iterator[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


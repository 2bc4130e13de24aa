"""HubSpot CRM -> raw.hubspot__* (contacts, companies, engagements with their contact/company associations)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import dlt
from dlt.sources.helpers.rest_client import RESTClient

from pipelines.common import cli
from pipelines.common.incremental_window import LagWindowFilter, iso_ms
from pipelines.hubspot_client import (
    ENGAGEMENT_TYPES,
    engagement_associations,
    flatten,
    hubspot_client,
    list_archived,
    properties_for,
    search_modified,
)

EPOCH = "1970-01-01T00:00:00.000Z"
_META_COLUMNS = {"created_at": {"data_type": "text"}, "updated_at": {"data_type": "text"},
                 "archived_at": {"data_type": "text"}, "is_deleted": {"data_type": "bool"},
                 "invalid_reason": {"data_type": "text"}, "content_hash": {"data_type": "text"}}


@dlt.source(name="hubspot")
def hubspot_source(
    api_token: str = dlt.secrets.value,
    api_base_url: str = "https://api.hubapi.com",
    properties: dict[str, list[str]] | None = None,
    lag_seconds: int = 300,
    search_result_cap: int = 10_000,
    search_page_size: int = 200,
):
    """Contacts, companies and engagements; `properties` ({"contacts": [...], ...}) replaces the defaults per type."""
    client = hubspot_client(api_base_url, api_token)
    search = {"cap": search_result_cap, "page_size": search_page_size}
    props = {t: properties_for(t, properties) for t in ("contacts", "companies", *ENGAGEMENT_TYPES)}
    resources = (
        hubspot__contacts(client, props["contacts"], search, _cursor(lag_seconds)),
        hubspot__companies(client, props["companies"], search, _cursor(lag_seconds)),
        hubspot__engagements(client, {t: props[t] for t in ENGAGEMENT_TYPES}, search, _cursor(lag_seconds)),
    )
    # every property stays a string column even when no value has been seen yet (staging casts them)
    columns = {"contacts": props["contacts"], "companies": props["companies"],
               "engagements": [p for t in ENGAGEMENT_TYPES for p in props[t]]}
    for resource, names in zip(resources, columns.values(), strict=True):
        resource.apply_hints(columns={**{n: {"data_type": "text", "nullable": True} for n in names}, **_META_COLUMNS})
    return resources


def _cursor(lag_seconds: int):
    return dlt.sources.incremental("updated_at", initial_value=EPOCH, lag=lag_seconds, primary_key=())


@dlt.resource(primary_key="id", write_disposition="merge")
def hubspot__contacts(
    client: RESTClient, properties: list[str], search: dict,
    updated_at=dlt.sources.incremental("updated_at", initial_value=EPOCH),
) -> Iterator[dict]:
    """Contacts modified since the cursor minus a lag (search API), plus archived ones marked is_deleted."""
    yield from _changed(client, {"contacts": properties}, search, updated_at)


@dlt.resource(primary_key="id", write_disposition="merge")
def hubspot__companies(
    client: RESTClient, properties: list[str], search: dict,
    updated_at=dlt.sources.incremental("updated_at", initial_value=EPOCH),
) -> Iterator[dict]:
    """Companies modified since the cursor minus a lag, plus archived ones marked is_deleted."""
    yield from _changed(client, {"companies": properties}, search, updated_at)


@dlt.resource(primary_key="id", write_disposition="merge")
def hubspot__engagements(
    client: RESTClient, properties: dict[str, list[str]], search: dict,
    updated_at=dlt.sources.incremental("updated_at", initial_value=EPOCH),
) -> Iterator[dict]:
    """Calls, emails, meetings, notes and tasks in one table (`engagement_type`), each with its contacts and
    companies as the nested table hubspot__engagements__associations (v4 associations, read only for changed rows).
    """
    for batch in _batched(_changed(client, properties, search, updated_at), 1000):
        for engagement_type in ENGAGEMENT_TYPES:
            live = [r["id"] for r in batch if r["engagement_type"] == engagement_type and not r["is_deleted"]]
            links = engagement_associations(client, engagement_type, live) if live else {}
            for row in (r for r in batch if r["engagement_type"] == engagement_type):
                row["associations"] = [{"engagement_id": row["id"], **a} for a in links.get(row["id"], [])]
                yield row


def _changed(client: RESTClient, properties: dict[str, list[str]], search: dict, cursor) -> Iterator[dict]:
    """Rows modified since the lagged cursor, then archived rows; row versions already loaded are skipped."""
    seen = LagWindowFilter(dlt.current.resource_state())
    since = iso_ms(cursor.last_value)
    until = iso_ms(datetime.now(UTC))
    newest = since
    for object_type, props in properties.items():
        records = search_modified(client, object_type, props, since, until, search["cap"], search["page_size"])
        for source in (records, list_archived(client, object_type, props)):
            for record in source:
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


if __name__ == "__main__":
    raise SystemExit(cli.main("hubspot", hubspot_source))

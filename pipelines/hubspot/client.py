"""HubSpot HTTP details: search windows past the result cap, archived listings in property chunks, v4 associations."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
from requests import HTTPError, Response

from pipelines.common.errors import SourceError
from pipelines.common.http import counting_client
from pipelines.common.incremental_window import content_hash, iso_ms
from pipelines.hubspot.settings import (
    DATE_PROPERTIES,
    DEFAULT_PROPERTIES,
    ENGAGEMENT_TYPES,
    MAX_BATCH_INPUTS,
    MAX_PROPERTIES_QUERY_CHARS,
)

log = logging.getLogger(__name__)

def cursor_property(object_type: str) -> str:
    """Contacts are modified-dated by `lastmodifieddate`, every other object by `hs_lastmodifieddate`."""
    return "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"


def properties_for(object_type: str, configured: dict[str, list[str]] | None) -> list[str]:
    """Configured (or default) properties plus the ones the pipeline itself relies on."""
    chosen = (configured or {}).get(object_type) or DEFAULT_PROPERTIES[object_type]
    required = ["hs_object_id", cursor_property(object_type)] + (["hs_timestamp"] if object_type in ENGAGEMENT_TYPES else [])
    return list(dict.fromkeys([*chosen, *required]))


def hubspot_client(base_url: str, token: str) -> RESTClient:
    return counting_client("hubspot", base_url.rstrip("/"),
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def _raise_actionable(response: Response, what: str) -> None:
    try:
        body = response.json()
    except ValueError:
        body = {}
    category = body.get("category", "") if isinstance(body, dict) else ""
    if response.status_code == 401:
        raise SourceError("HubSpot rejected the access token (401 INVALID_AUTHENTICATION): set sources.hubspot.api_token "
                          "(SOURCES__HUBSPOT__API_TOKEN) to your private app's access token") from None
    if response.status_code == 403:
        raise SourceError(f"HubSpot refused {what} (403 {category}): give the private app the scopes "
                          "crm.objects.contacts.read and crm.objects.companies.read") from None
    if response.status_code == 414:
        raise SourceError(f"HubSpot answered 414 URI Too Long for {what}: shorten sources.hubspot.properties") from None
    raise SourceError(f"HubSpot answered {response.status_code} {category} for {what}") from None


class _CappedSearchPaginator(JSONResponseCursorPaginator):
    """Search paging (`paging.next.after` into the body) that stops before asking past the result cap."""

    def __init__(self, cap: int):
        super().__init__(cursor_path="paging.next.after", cursor_body_path="after")
        self.cap = cap
        self.reached_cap = False
        self.pages = 0

    def update_state(self, response: Response, data=None) -> None:
        super().update_state(response, data)
        self.pages += 1
        if self._next_reference is not None and int(self._next_reference) >= self.cap:
            self.reached_cap = True
            self._next_reference = None


def _search(client: RESTClient, object_type: str, body: dict, paginator: _CappedSearchPaginator) -> Iterator[dict]:
    try:
        for page in client.paginate(f"/crm/v3/objects/{object_type}/search", method="POST", json=body,
                                    paginator=paginator, data_selector="results"):
            yield from page
    except HTTPError as exc:
        if exc.response.status_code == 400 and paginator.pages > 0:
            # paged past a cap lower than configured: treat it as the cap and re-anchor
            log.warning("HubSpot refused to page past %s results of %s; re-anchoring", paginator.pages, object_type)
            paginator.reached_cap = True
            return
        _raise_actionable(exc.response, f"the {object_type} search")


def _epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def search_modified(client: RESTClient, object_type: str, properties: list[str], since: str, until: str,
                    cap: int = 10_000, page_size: int = 200) -> Iterator[dict]:
    """Live records modified in [since, until], oldest first, past any result cap.

    Each query is bounded by the run's start. When a query reaches the cap, a new one starts at the
    last modified date seen (re-reading that instant; the merge absorbs it). When the cap is full of one
    single timestamp (a bulk update), that timestamp is pinned and paged by hs_object_id instead.
    """
    prop = cursor_property(object_type)
    lower_op, lower, upper = "GTE", _epoch_ms(since), _epoch_ms(until)
    limit = max(1, min(page_size, cap))
    while True:
        body = {"filterGroups": [{"filters": [{"propertyName": prop, "operator": lower_op, "value": str(lower)},
                                              {"propertyName": prop, "operator": "LTE", "value": str(upper)}]}],
                "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
                "properties": properties, "limit": limit}
        paginator = _CappedSearchPaginator(cap)
        last = None
        for record in _search(client, object_type, body, paginator):
            last = record
            yield record
        if not paginator.reached_cap or last is None:
            return
        last_ms = _epoch_ms(iso_ms(last["properties"][prop]))
        if last_ms == lower:
            yield from _search_one_instant(client, object_type, properties, prop, lower, cap, limit)
            lower_op = "GT"
        else:
            lower_op, lower = "GTE", last_ms


def _search_one_instant(client: RESTClient, object_type: str, properties: list[str], prop: str, instant: int,
                        cap: int, limit: int) -> Iterator[dict]:
    """Every record modified at exactly `instant`, paged by hs_object_id (airbyte#44899)."""
    after_id = 0
    while True:
        body = {"filterGroups": [{"filters": [{"propertyName": prop, "operator": "EQ", "value": str(instant)},
                                              {"propertyName": "hs_object_id", "operator": "GT", "value": str(after_id)}]}],
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "properties": properties, "limit": limit}
        paginator = _CappedSearchPaginator(cap)
        last = None
        for record in _search(client, object_type, body, paginator):
            last = record
            yield record
        if not paginator.reached_cap or last is None:
            return
        after_id = int(last["id"])


def _property_chunks(properties: list[str], always: list[str], max_chars: int) -> list[list[str]]:
    chunks: list[list[str]] = []
    current = list(always)
    for name in properties:
        if name in always:
            continue
        if len(quote(",".join([*current, name]))) > max_chars and len(current) > len(always):
            chunks.append(current)
            current = list(always)
        current.append(name)
    chunks.append(current)
    return chunks


def list_archived(client: RESTClient, object_type: str, properties: list[str],
                  max_chars: int = MAX_PROPERTIES_QUERY_CHARS) -> Iterator[dict]:
    """Archived (deleted) records. Long property lists are split over several GETs and merged by id (no 414)."""
    merged: dict[str, dict] = {}
    always = ["hs_object_id", cursor_property(object_type)]
    for chunk in _property_chunks(properties, always, max_chars):
        paginator = JSONResponseCursorPaginator(cursor_path="paging.next.after", cursor_param="after")
        params = {"archived": "true", "limit": 100, "properties": ",".join(chunk)}
        try:
            for page in client.paginate(f"/crm/v3/objects/{object_type}", params=params, paginator=paginator,
                                        data_selector="results"):
                for record in page:
                    seen = merged.setdefault(record["id"], {**record, "properties": {}})
                    seen["properties"].update(record.get("properties") or {})
        except HTTPError as exc:
            _raise_actionable(exc.response, f"the archived {object_type} list")
    yield from merged.values()


def engagement_associations(client: RESTClient, object_type: str, ids: list[str]) -> dict[str, list[dict]]:
    """engagement id -> [{to_object_type, to_object_id, association_type_id}] via v4 batch reads."""
    out: dict[str, list[dict]] = {i: [] for i in ids}
    for to_type in ("contacts", "companies"):
        for start in range(0, len(ids), MAX_BATCH_INPUTS):
            chunk = ids[start:start + MAX_BATCH_INPUTS]
            response = client.post(f"/crm/v4/associations/{object_type}/{to_type}/batch/read",
                                   json={"inputs": [{"id": i} for i in chunk]})
            if response.status_code not in (200, 207):
                _raise_actionable(response, f"{object_type} -> {to_type} associations")
            body = response.json()
            for result in body.get("results", []):
                for to in result.get("to", []):
                    types = to.get("associationTypes") or [{}]
                    out.setdefault(str(result["from"]["id"]), []).append(
                        {"to_object_type": to_type, "to_object_id": str(to["toObjectId"]),
                         "association_type_id": types[0].get("typeId")})
            unexpected = [e for e in body.get("errors", [])
                          if e.get("subCategory") != "crm.associations.NO_ASSOCIATIONS_FOUND"]
            if unexpected:
                log.warning("HubSpot could not read %s %s -> %s associations: %s", len(unexpected), object_type,
                            to_type, unexpected[0].get("message"))
    return out


def _normalise_date(value: str | None) -> str | None:
    """HubSpot dates are ISO strings, some epoch-ms strings; both become ISO. Raises ValueError otherwise."""
    if value is None or value == "":
        return None
    if value.strip().isdigit():
        return iso_ms(datetime.fromtimestamp(int(value) / 1000, tz=UTC))
    return iso_ms(value)


def flatten(record: dict, object_type: str, properties: list[str]) -> dict:
    """One raw row per record: every requested property a top-level string column, plus load metadata.

    A value that should be a date but is not is kept in `invalid_reason` (and nulled), so the batch goes on.
    """
    props = record.get("properties") or {}
    row: dict = {"id": str(record["id"])}
    problems = []
    for name in properties:
        value = props.get(name)
        value = None if value is None else str(value)
        if name in DATE_PROPERTIES:
            try:
                value = _normalise_date(value)
            except ValueError:
                problems.append(f"{name}={value!r} is not a date")
                value = None
        row[name] = value
    updated = record.get("updatedAt") or props.get(cursor_property(object_type))
    if record.get("archivedAt") and (updated is None or iso_ms(record["archivedAt"]) > iso_ms(updated)):
        updated = record["archivedAt"]
    row.update({
        "created_at": iso_ms(record["createdAt"]) if record.get("createdAt") else None,
        "updated_at": iso_ms(updated),
        "archived_at": iso_ms(record["archivedAt"]) if record.get("archivedAt") else None,
        "is_deleted": bool(record.get("archived")),
        "invalid_reason": "; ".join(problems) or None,
        "content_hash": content_hash(record),
    })
    return row

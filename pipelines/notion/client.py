"""Notion HTTP details: data-source discovery, incremental queries past the result cap, page flattening."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
from requests import HTTPError

from pipelines.common.errors import SourceError
from pipelines.common.http import counting_client
from pipelines.common.incremental_window import content_hash
from pipelines.notion.settings import FREQUENCIES


@dataclass
class HabitDataSource:
    """One configured habit database and the data source behind it."""

    frequency: str
    database_id: str
    data_source_id: str
    title: str
    properties: list[dict] = field(default_factory=list)  # [{property_id, property_name, property_type}]
    date_property_id: str | None = None


def notion_client(base_url: str, token: str, version: str) -> RESTClient:
    return counting_client(
        "notion", base_url.rstrip("/"),
        headers={"Authorization": f"Bearer {token}", "Notion-Version": version, "Content-Type": "application/json"},
    )


def _raise_actionable(exc: HTTPError, what: str) -> None:
    response = exc.response
    try:
        code = response.json().get("code", "")
    except ValueError:
        code = ""
    if response.status_code == 401:
        raise SourceError("Notion rejected the API token (401 unauthorized): set sources.notion.api_token "
                          "(SOURCES__NOTION__API_TOKEN) to your integration's secret") from None
    if response.status_code == 404:
        raise SourceError(f"Notion {what} was not found (404 {code}): check the id in sources.notion.databases "
                          "and share the database with your integration (••• > Connections)") from None
    raise SourceError(f"Notion answered {response.status_code} {code} for {what}") from None


def discover(client: RESTClient, databases: dict[str, str], date_property: str | None) -> list[HabitDataSource]:
    """Resolve each configured database to its data source and schema (Notion-Version 2025-09-03)."""
    unknown = set(databases) - set(FREQUENCIES)
    if unknown:
        raise SourceError(f"sources.notion.databases has unknown frequencies {sorted(unknown)}; use {FREQUENCIES}")
    found = []
    for frequency, database_id in databases.items():
        try:
            db = client.get(f"/databases/{database_id}")
            db.raise_for_status()
            for ref in db.json().get("data_sources", []):
                resp = client.get(f"/data_sources/{ref['id']}")
                resp.raise_for_status()
                found.append(_describe(frequency, database_id, resp.json(), date_property))
        except HTTPError as exc:
            _raise_actionable(exc, f"database '{frequency}' ({database_id})")
    return found


def _describe(frequency: str, database_id: str, ds: dict, date_property: str | None) -> HabitDataSource:
    props = [{"property_id": p["id"], "property_name": name, "property_type": p["type"]}
             for name, p in ds.get("properties", {}).items()]
    dates = [p for p in props if p["property_type"] == "date"]
    if date_property:
        dates = [p for p in dates if date_property in (p["property_name"], p["property_id"])]
    title = "".join(t.get("plain_text", "") for t in ds.get("title", [])) or database_id
    if len(dates) != 1:
        raise SourceError(f"Notion database '{title}' needs exactly one date property for the habit date "
                          f"(found {len(dates)}); set sources.notion.date_property")
    return HabitDataSource(frequency, database_id, ds["id"], title, props, dates[0]["property_id"])


def query_pages(client: RESTClient, ds: HabitDataSource, edited_on_or_after: str, page_size: int = 100) -> Iterator[dict]:
    """Pages edited on or after a timestamp, trashed ones included, oldest edit first.

    Notion caps one query at 10,000 results (`request_status.type == "incomplete"`); past the cap the
    window is re-anchored at the last timestamp seen, which re-reads that minute (the merge absorbs it).
    """
    floor = edited_on_or_after
    while True:
        body = {"filter": {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": floor}},
                "sorts": [{"timestamp": "last_edited_time", "direction": "ascending"}],
                "page_size": page_size, "in_trash": True}
        incomplete, last_seen = False, floor
        paginator = JSONResponseCursorPaginator(cursor_path="next_cursor", cursor_body_path="start_cursor")
        try:
            for page in client.paginate(f"/data_sources/{ds.data_source_id}/query", method="POST", json=body,
                                        paginator=paginator, data_selector="results"):
                status = (page.response.json().get("request_status") or {})
                incomplete = incomplete or status.get("type") == "incomplete"
                for item in page:
                    last_seen = item["last_edited_time"]
                    yield item
        except HTTPError as exc:
            _raise_actionable(exc, f"data source of '{ds.frequency}' ({ds.data_source_id})")
        if not incomplete:
            return
        if last_seen == floor:
            raise SourceError(f"more than the result cap of pages share last_edited_time {floor} in '{ds.title}'")
        floor = last_seen


def _value_text(prop: dict) -> str | None:
    kind = prop.get("type")
    value = prop.get(kind)
    if kind in ("title", "rich_text"):
        return "".join(t.get("plain_text", "") for t in value or []) or None
    if kind == "checkbox":
        return "true" if value else "false"
    if kind == "select" or kind == "status":
        return value["name"] if value else None
    if kind == "multi_select":
        return ";".join(o["name"] for o in value or []) or None
    if kind == "date":
        return value["start"] if value else None
    if kind == "formula" and value:
        inner = value.get(value.get("type"))
        return inner.get("start") if isinstance(inner, dict) else (None if inner is None else str(inner).lower() if isinstance(inner, bool) else str(inner))
    if value is None or isinstance(value, (dict, list)):
        return None if value in (None, [], {}) else json.dumps(value, sort_keys=True)
    return str(value)


def flatten_page(page: dict, ds: HabitDataSource) -> dict:
    """One raw row per page; its properties become a child table keyed by the stable property id."""
    properties = [
        {"page_id": page["id"], "property_id": p["id"], "property_name": name, "property_type": p["type"],
         "value_text": _value_text(p)}
        for name, p in page.get("properties", {}).items()
    ]
    title = next((r["value_text"] for r in properties if r["property_type"] == "title"), None)
    habit_date = next((r["value_text"] for r in properties if r["property_id"] == ds.date_property_id), None)
    return {
        "page_id": page["id"],
        "database_id": ds.database_id,
        "data_source_id": ds.data_source_id,
        "frequency": ds.frequency,
        "title": title,
        "habit_date": habit_date[:10] if habit_date else None,
        "created_time": page["created_time"],
        "last_edited_time": page["last_edited_time"],
        "is_deleted": bool(page.get("in_trash") or page.get("archived")),
        "url": page.get("url"),
        "content_hash": content_hash(page),
        "properties": properties,
    }

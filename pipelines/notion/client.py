"""Notion HTTP details: data-source discovery, incremental queries past the result cap, id-only listings, errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NoReturn

from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
from requests import HTTPError, RequestException, Response

from pipelines.common.errors import SourceError
from pipelines.common.http import counting_client
from pipelines.common.incremental_window import iso_ms
from pipelines.notion.pages import rich_text
from pipelines.notion.settings import FREQUENCIES, ID_ONLY_PROPERTY


@dataclass
class HabitDataSource:
    """One configured habit database and the data source behind it."""

    frequency: str
    database_id: str
    data_source_id: str
    title: str
    properties: list[dict] = field(default_factory=list)  # [{property_id, property_name, property_type}]
    date_property_id: str | None = None

    @property
    def label(self) -> str:
        return f"{self.frequency} (ds {self.data_source_id})"

    @property
    def query_endpoint(self) -> str:
        return f"POST /v1/data_sources/{self.data_source_id}/query"


@dataclass
class PageListing:
    """The ids of a data source's live pages, and why the listing is incomplete (None when it is complete)."""

    ids: set[str]
    incomplete: str | None = None


def notion_client(base_url: str, token: str, version: str) -> RESTClient:
    return counting_client(
        "notion", base_url.rstrip("/"),
        headers={"Authorization": f"Bearer {token}", "Notion-Version": version, "Content-Type": "application/json"},
    )


def _notion_error_code(response: Response) -> str | None:
    """The `code` of Notion's JSON error body (`{"object": "error", "status": 404, "code": ...}`), None for any other body."""
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("object") == "error" and isinstance(body.get("code"), str):
        return body["code"]
    return None


def _wrong_base_url(client: RESTClient, response: Response | None, what: str) -> SourceError:
    answer = f"answered {response.status_code} without Notion's JSON error body" if response is not None else \
        "did not answer with Notion's JSON"
    return SourceError(f"the Notion API base URL looks wrong: the request for {what} {answer}; check "
                       f"sources.notion.api_base_url = {client.base_url} (SOURCES__NOTION__API_BASE_URL; "
                       "the real one is https://api.notion.com/v1)")


def _raise_actionable(client: RESTClient, exc: HTTPError, what: str) -> NoReturn:
    response = exc.response
    code = _notion_error_code(response)
    if code is None and 400 <= response.status_code < 500 and response.status_code != 429:
        raise _wrong_base_url(client, response, what) from None
    if response.status_code == 401:
        raise SourceError("Notion rejected the API token (401 unauthorized): set sources.notion.api_token "
                          "(SOURCES__NOTION__API_TOKEN) to your integration's secret") from None
    if response.status_code == 404:
        raise SourceError(f"Notion {what} was not found (404 {code}): check the id in sources.notion.databases "
                          "and share the database with your integration (••• > Connections)") from None
    raise SourceError(f"Notion answered {response.status_code} {code or ''} for {what}".rstrip()) from None


def _get_json(client: RESTClient, path: str, what: str, expected_object: str) -> dict:
    """A Notion object, or a SourceError that says what to fix (token, sharing, or the base URL itself)."""
    try:
        response = client.get(path)
        response.raise_for_status()
    except HTTPError as exc:
        _raise_actionable(client, exc, what)
    except SourceError:
        raise  # already explained (pipelines.common.http: cannot connect, timeout)
    except RequestException as exc:
        raise SourceError(f"could not reach Notion for {what} ({type(exc).__name__}): check "
                          f"sources.notion.api_base_url = {client.base_url}") from None
    looks_like_json = "json" in response.headers.get("content-type", "")
    try:
        body = response.json()
    except ValueError:
        if looks_like_json:
            raise SourceError(f"Notion sent a malformed JSON body for {what}; run again") from None
        body = None
    if not isinstance(body, dict) or body.get("object") != expected_object:
        raise _wrong_base_url(client, None, what)
    return body


def discover(client: RESTClient, databases: dict[str, str], date_property: str | None) -> list[HabitDataSource]:
    """Resolve each configured database to its data source and schema (Notion-Version 2025-09-03)."""
    unknown = set(databases) - set(FREQUENCIES)
    if unknown:
        raise SourceError(f"sources.notion.databases has unknown frequencies {sorted(unknown)}; use {FREQUENCIES}")
    found = []
    for frequency, database_id in databases.items():
        db = _get_json(client, f"/databases/{database_id}", f"database '{frequency}' ({database_id})", "database")
        for ref in db.get("data_sources", []):
            ds = _get_json(client, f"/data_sources/{ref['id']}", f"data source of '{frequency}' ({ref['id']})",
                           "data_source")
            found.append(_describe(frequency, database_id, ds, date_property))
    return found


def _describe(frequency: str, database_id: str, ds: dict, date_property: str | None) -> HabitDataSource:
    props = [{"property_id": p["id"], "property_name": name, "property_type": p["type"]}
             for name, p in ds.get("properties", {}).items()]
    dates = [p for p in props if p["property_type"] == "date"]
    if date_property:
        dates = [p for p in dates if date_property in (p["property_name"], p["property_id"])]
    title = rich_text(ds.get("title")) or database_id
    if len(dates) != 1:
        raise SourceError(f"Notion database '{title}' needs exactly one date property for the habit date "
                          f"(found {len(dates)}); set sources.notion.date_property")
    return HabitDataSource(frequency, database_id, ds["id"], title, props, dates[0]["property_id"])


def _paginator() -> JSONResponseCursorPaginator:
    return JSONResponseCursorPaginator(cursor_path="next_cursor", cursor_body_path="start_cursor")


def _incomplete(response: Response) -> bool:
    """Notion's 10,000-results cap: `request_status` is often absent, so only `type == "incomplete"` counts."""
    status = response.json().get("request_status") or {}
    return isinstance(status, dict) and status.get("type") == "incomplete"


def _cursor_value(item: dict) -> str | None:
    try:
        return iso_ms(item.get("last_edited_time"))
    except (TypeError, ValueError, AttributeError):
        return None


def query_pages(client: RESTClient, ds: HabitDataSource, edited_on_or_after: str, page_size: int = 100) -> Iterator[dict]:
    """Live pages edited on or after a timestamp, oldest edit first.

    No `in_trash` flag in the body: readings of it differ ("only trashed", or ignored), so trashed pages
    are found by `list_page_ids` instead. Notion caps one query at 10,000 results
    (`request_status.type == "incomplete"`); past the cap the window is re-anchored at the last timestamp
    seen, which re-reads that minute (the merge absorbs it). Pages are yielded as the API sent them,
    malformed ones included (the caller rejects those).
    """
    floor = edited_on_or_after
    while True:
        body = {"filter": {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": floor}},
                "sorts": [{"timestamp": "last_edited_time", "direction": "ascending"}],
                "page_size": page_size}
        incomplete, last_seen = False, floor
        try:
            for page in client.paginate(f"/data_sources/{ds.data_source_id}/query", method="POST", json=body,
                                        paginator=_paginator(), data_selector="results"):
                incomplete = incomplete or _incomplete(page.response)
                for item in page:
                    last_seen = max(last_seen, _cursor_value(item) or last_seen)
                    yield item
        except HTTPError as exc:
            _raise_actionable(client, exc, f"data source of '{ds.frequency}' ({ds.data_source_id})")
        if not incomplete:
            return
        if last_seen == floor:
            raise SourceError(f"more than the result cap of pages share last_edited_time {floor} in '{ds.title}'")
        floor = last_seen


def list_page_ids(client: RESTClient, ds: HabitDataSource, page_size: int = 100) -> PageListing:
    """The ids of every live page of a data source: one request per 100 pages, each page cut to its title.

    Sorted by created_time, which edits do not move, so paging cannot skip a page edited meanwhile.
    Incomplete (nothing may be inferred from a missing id) when Notion's result cap is reached, or when
    a request fails after the client's retries.
    """
    body = {"sorts": [{"timestamp": "created_time", "direction": "ascending"}], "page_size": page_size}
    ids: set[str] = set()
    has_more = None
    try:
        for page in client.paginate(f"/data_sources/{ds.data_source_id}/query", method="POST", json=body,
                                    params={"filter_properties": ID_ONLY_PROPERTY},
                                    paginator=_paginator(), data_selector="results"):
            if _incomplete(page.response):
                return PageListing(ids, "Notion's result cap of 10,000 pages per query was reached")
            has_more = page.response.json().get("has_more")
            ids.update(item["id"] for item in page)
    except HTTPError as exc:
        code = _notion_error_code(exc.response)
        return PageListing(ids, f"Notion answered {exc.response.status_code} {code or 'error'} after retries")
    except (RequestException, ValueError, KeyError, TypeError) as exc:  # includes SourceErrors of common.http
        return PageListing(ids, f"{type(exc).__name__}: {str(exc)[:200]}")
    if has_more is not False:
        return PageListing(ids, "the listing stopped before Notion said has_more=false")
    return PageListing(ids)

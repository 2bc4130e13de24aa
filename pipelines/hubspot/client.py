"""HubSpot HTTP details: keyset-paged searches (no offsets, no result cap), archived listings in property chunks, v4 associations."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http import HTTPStatus
from typing import NoReturn
from urllib.parse import quote, urlsplit

from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import BasePaginator, JSONResponseCursorPaginator
from requests import HTTPError, PreparedRequest, Request, Response
from requests.exceptions import JSONDecodeError

from pipelines.common.errors import SourceError
from pipelines.common.http import counting_client
from pipelines.common.incremental_window import content_hash, iso_ms
from pipelines.hubspot.settings import (
    DATE_PROPERTIES,
    DEFAULT_PROPERTIES,
    ENGAGEMENT_TYPES,
    MAX_BATCH_INPUTS,
    MAX_PROPERTIES_QUERY_CHARS,
    MAX_SEARCH_LIMIT,
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


def pace_searches(client: RESTClient, throttle: SearchThrottle) -> RESTClient:
    """Every search request of `client` waits for its slot right before it goes on the wire (retries included),
    whichever resource sends it. A stand-in client without a session (tests) is returned as is."""
    if not throttle.interval or not hasattr(client, "session"):
        return client
    adapter = client.session.get_adapter(client.base_url)
    send = adapter.send

    def paced_send(request: PreparedRequest, *args, **kwargs) -> Response:
        if request.method == "POST" and urlsplit(request.url or "").path.endswith("/search"):
            throttle.wait()
        return send(request, *args, **kwargs)

    adapter.send = paced_send
    return client


def _status_text(response: Response) -> str:
    """`503 Service Unavailable`: the code with the reason the server sent, else the standard phrase."""
    reason = (response.reason or "").strip()
    if not reason:
        try:
            reason = HTTPStatus(response.status_code).phrase
        except ValueError:
            reason = "(no reason given)"
    return f"{response.status_code} {reason}"


def _raise_actionable(response: Response, what: str, endpoint: str) -> NoReturn:
    """One readable line for a refused request: what we asked for, the endpoint, and HubSpot's category when the
    body has one (a gateway's 502/503/504 page has none: then the status text)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    category = body.get("category", "") if isinstance(body, dict) else ""
    category = category if isinstance(category, str) else ""
    where = f"{what} ({endpoint})"
    if response.status_code == 401:
        raise SourceError("HubSpot rejected the access token (401 INVALID_AUTHENTICATION): set sources.hubspot.api_token "
                          "(SOURCES__HUBSPOT__API_TOKEN) to your service key or private app access token") from None
    if response.status_code == 403:
        raise SourceError(f"HubSpot refused {where} (403 {category or HTTPStatus.FORBIDDEN.phrase}): give the service "
                          "key (or private app) the scopes crm.objects.contacts.read and crm.objects.companies.read"
                          ) from None
    if response.status_code == 414:
        raise SourceError(f"HubSpot answered 414 URI Too Long for {where}: shorten sources.hubspot.properties") from None
    status = f"{response.status_code} {category}" if category else _status_text(response)
    raise SourceError(f"HubSpot answered {status} for {where}") from None


def _raise_not_json(exc: JSONDecodeError, what: str, endpoint: str) -> NoReturn:
    raise SourceError(f"HubSpot sent a body that is not valid JSON for {what} ({endpoint}): {exc.msg} at character "
                      f"{exc.pos}; the response was cut off or came from a proxy, run again") from None


class SearchThrottle:
    """Spaces requests at most `per_second` a second (HubSpot's search limit is about 4/s per account, api
    reference 2.4), so searches are paced on our side instead of leaning on 429 retries. <= 0 turns it off.

    One instance per source run, shared by every search; `clock` and `sleep` are injectable for tests.
    """

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = 1.0 / per_second if per_second and per_second > 0 else 0.0
        self._clock, self._sleep = clock, sleep
        self._next_at: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next request may go, and book its slot."""
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            if self._next_at is not None and now < self._next_at:
                self._sleep(self._next_at - now)
                now = self._next_at
            self._next_at = now + self.interval


def search_endpoint(object_type: str) -> str:
    return f"POST /crm/v3/objects/{object_type}/search"


def archived_endpoint(object_type: str) -> str:
    return f"GET /crm/v3/objects/{object_type}?archived=true"


def _epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def modified_ms(record: dict, prop: str) -> int | None:
    """A record's modified instant (the cursor property, else the top-level updatedAt) in epoch ms; None if unreadable."""
    for value in ((record.get("properties") or {}).get(prop), record.get("updatedAt")):
        try:
            normalised = _normalise_date(None if value is None else str(value))
        except ValueError:
            continue
        if normalised is not None:
            return _epoch_ms(normalised)
    return None


class KeysetSearchPaginator(BasePaginator):
    """Pages a modified-date search by narrowing its filter, never with `after`.

    HubSpot's search `after` is an offset into the result set as it is at each request (api reference 2.2): a
    record edited while we page leaves its place, every later record moves one back, and the next offset skips
    one, for good once the cursor passes it; and no offset may reach the 10,000-result cap (400). So every page
    is a query of its own, from the newest modified date the last page held (GTE: the records sharing that
    instant come again, and the caller drops them by id and date). Search takes one sort only, so a full page of
    one single instant (a bulk update) pins that instant and pages it by hs_object_id (GT the last id,
    airbyte#44899); then the search goes on after it (GT). An edit while we page cannot shift anything: each
    query starts at a value, not a position, and no query is ever paged past its first page.
    """

    def __init__(self, prop: str, lower_ms: int, upper_ms: int, limit: int, object_type: str):
        super().__init__()
        self.prop, self.upper, self.limit, self.object_type = prop, upper_ms, limit, object_type
        self.lower, self.lower_op = lower_ms, "GTE"
        self.pinned_after_id: int | None = None  # paging the instant `lower` by id, past this one
        self.pages = 0

    def body(self) -> dict:
        """The filters and sort of the next query (`properties` is the caller's)."""
        if self.pinned_after_id is None:
            filters = [{"propertyName": self.prop, "operator": self.lower_op, "value": str(self.lower)},
                       {"propertyName": self.prop, "operator": "LTE", "value": str(self.upper)}]
            sort = self.prop
        else:
            filters = [{"propertyName": self.prop, "operator": "EQ", "value": str(self.lower)},
                       {"propertyName": "hs_object_id", "operator": "GT", "value": str(self.pinned_after_id)}]
            sort = "hs_object_id"
        return {"filterGroups": [{"filters": filters}], "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
                "limit": self.limit}

    def init_request(self, request: Request) -> None:
        request.json = {**(request.json or {}), **self.body()}

    def update_request(self, request: Request) -> None:
        request.json = {**(request.json or {}), **self.body()}

    def update_state(self, response: Response, data: list | None = None) -> None:
        self.pages += 1
        page = data or []
        # more to read: a full page, or HubSpot says so (never an empty page: nothing to continue from)
        more = bool(page) and (len(page) >= self.limit or _has_next_page(response))
        if self.pinned_after_id is not None:
            if not more:
                self.pinned_after_id, self.lower_op = None, "GT"  # the instant is read: go on after it
                return
            ids = [int(r["id"]) for r in page if isinstance(r, dict) and str(r.get("id") or "").isdigit()]
            if not ids or max(ids) <= self.pinned_after_id:
                self._stuck(f"within one modified instant without a readable id past {self.pinned_after_id}")
            self.pinned_after_id = max(ids)
            return
        if not more:
            self._has_next_page = False
            return
        stamps = [m for r in page if isinstance(r, dict) and (m := modified_ms(r, self.prop)) is not None]
        if not stamps:
            self._stuck("without one readable modified date to continue from")
        newest = max(stamps)
        if newest < self.lower or (newest == self.lower and self.lower_op == "GT"):
            self._stuck(f"with modified dates before the {self.lower} it was asked to start from")
        if min(stamps) == newest:
            # a full page of one instant: nothing lies between the lower bound and it, so page that instant by id
            self.lower, self.pinned_after_id = newest, 0
        else:
            self.lower, self.lower_op = newest, "GTE"

    def _stuck(self, why: str) -> NoReturn:
        raise SourceError(f"HubSpot's {self.object_type} search served a full page {why} "
                          f"({search_endpoint(self.object_type)})")


def _has_next_page(response: Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    paging = body.get("paging") if isinstance(body, dict) else None
    return isinstance(paging, dict) and bool(paging.get("next"))


def _search_pages(client: RESTClient, object_type: str, properties: list[str],
                  paginator: KeysetSearchPaginator) -> Iterator[list]:
    try:
        yield from client.paginate(f"/crm/v3/objects/{object_type}/search", method="POST",
                                   json={"properties": properties}, paginator=paginator, data_selector="results")
    except HTTPError as exc:
        _raise_actionable(exc.response, f"the {object_type} search", search_endpoint(object_type))
    except JSONDecodeError as exc:
        _raise_not_json(exc, f"the {object_type} search", search_endpoint(object_type))


def search_modified(client: RESTClient, object_type: str, properties: list[str], since: str, until: str,
                    page_size: int = 200) -> Iterator[dict]:
    """Live records modified in [since, until], oldest first, however many there are and whatever is edited
    while we page (`KeysetSearchPaginator`). The upper bound is the run's start: a record edited during the run
    is read by the next one. Records re-read at a page boundary are dropped here (same id, same modified date);
    one id with two modified dates is two versions, both yielded (the merge's dedup_sort keeps the newest).
    Records are yielded as HubSpot sent them, malformed ones included (the caller rejects those).
    The run log gets one line per object type: records and search requests.
    """
    prop = cursor_property(object_type)
    paginator = KeysetSearchPaginator(prop, _epoch_ms(since), _epoch_ms(until),
                                      max(1, min(page_size, MAX_SEARCH_LIMIT)), object_type)
    served: set[tuple[str, int | None]] = set()
    count = 0
    for page in _search_pages(client, object_type, properties, paginator):
        for record in page:
            if isinstance(record, dict):
                key = (str(record.get("id")), modified_ms(record, prop))
                if key in served:
                    continue
                served.add(key)
            count += 1
            yield record
        # only records at or after the next query's lower bound can come again
        served = {k for k in served if k[1] is None or k[1] >= paginator.lower}
    log.info("HubSpot %s search: %s records in %s requests", object_type, count, paginator.pages)


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
                    if not isinstance(record, dict) or record.get("id") in (None, ""):
                        yield record  # malformed: passed on as is, for the caller to reject
                        continue
                    seen = merged.setdefault(str(record["id"]), {**record, "properties": {}})
                    seen["properties"].update(record.get("properties") or {})
        except HTTPError as exc:
            _raise_actionable(exc.response, f"the archived {object_type} list", archived_endpoint(object_type))
        except JSONDecodeError as exc:
            _raise_not_json(exc, f"the archived {object_type} list", archived_endpoint(object_type))
    yield from merged.values()


def engagement_associations(client: RESTClient, object_type: str, ids: list[str]) -> dict[str, list[dict]]:
    """engagement id -> [{to_object_type, to_object_id, association_type_id}] via v4 batch reads.

    Each id is asked for once (one id can come twice in a run: two versions of one record)."""
    ids = list(dict.fromkeys(ids))
    out: dict[str, list[dict]] = {i: [] for i in ids}
    for to_type in ("contacts", "companies"):
        for start in range(0, len(ids), MAX_BATCH_INPUTS):
            chunk = ids[start:start + MAX_BATCH_INPUTS]
            path = f"/crm/v4/associations/{object_type}/{to_type}/batch/read"
            what = f"{object_type} -> {to_type} associations"
            response = client.post(path, json={"inputs": [{"id": i} for i in chunk]})
            if response.status_code not in (200, 207):
                _raise_actionable(response, what, f"POST {path}")
            try:
                body = response.json()
            except JSONDecodeError as exc:
                _raise_not_json(exc, what, f"POST {path}")
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


def record_problem(record: object, object_type: str) -> str | None:
    """Why a record breaks the contract and must be rejected (no id, an unreadable createdAt, updatedAt or
    archivedAt, no modified date at all), or None when it loads."""
    if not isinstance(record, dict):
        return f"the {object_type} record is not a JSON object"
    if record.get("id") is None or str(record["id"]).strip() == "":
        return "the record has no id"
    for field in ("createdAt", "updatedAt", "archivedAt"):
        value = record.get(field)
        if value is None:
            continue
        try:
            iso_ms(value)
        except (TypeError, ValueError):
            return f"{field}={value!r} is not a timestamp"
    if record.get("updatedAt") is None and modified_ms(record, cursor_property(object_type)) is None:
        return f"the record has no updatedAt and no readable {cursor_property(object_type)}"
    return None


def flatten(record: dict, object_type: str, properties: list[str]) -> dict:
    """One raw row per record: every requested property a top-level string column, plus load metadata.

    A value that should be a date but is not is kept in `invalid_reason` (and nulled), so the batch goes on.
    Expects a record `record_problem` found nothing wrong with. Raw stays faithful: a property HubSpot did not send
    stays null here (staging falls back to createdAt/updatedAt and a meeting's start time).
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
    updated = (iso_ms(record["updatedAt"]) if record.get("updatedAt")
               else _normalise_date(str(props.get(cursor_property(object_type)))))
    if record.get("archivedAt") and iso_ms(record["archivedAt"]) > updated:
        updated = iso_ms(record["archivedAt"])
    row.update({
        "created_at": iso_ms(record["createdAt"]) if record.get("createdAt") else None,
        "updated_at": iso_ms(updated),
        "archived_at": iso_ms(record["archivedAt"]) if record.get("archivedAt") else None,
        "is_deleted": bool(record.get("archived")),
        "invalid_reason": "; ".join(problems) or None,
        "content_hash": content_hash(record),
    })
    return row

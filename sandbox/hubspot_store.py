"""The HubSpot replica's state: renders records as the CRM v3 API does, answers searches, applies edits and archives."""

from __future__ import annotations

import base64
import copy
import threading
import time
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from sandbox.hubspot_data import ENGAGEMENT_TYPES, TYPE_IDS, CrmRecord, HubSpotPortal, hs_iso

# what a list or search returns when no `properties` are asked for (api reference 2.1)
DEFAULT_PROPERTIES = {
    "contacts": ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"],
    "companies": ["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"],
}
ENGAGEMENT_DEFAULTS = ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"]
SYSTEM_DATES = {"createdate", "hs_createdate", "lastmodifieddate", "hs_lastmodifieddate"}
DATE_PROPERTIES = {"createdate", "lastmodifieddate", "hs_lastmodifieddate", "hs_createdate", "hs_timestamp",
                   "hs_meeting_start_time", "hs_meeting_end_time"}
FILTER_OPS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE"}
# HUBSPOT_DEFINED association type ids (engagement -> contact, engagement -> company)
ASSOCIATION_TYPE_IDS = {("calls", "contacts"): 194, ("calls", "companies"): 182, ("emails", "contacts"): 198,
                        ("emails", "companies"): 186, ("meetings", "contacts"): 200, ("meetings", "companies"): 188,
                        ("notes", "contacts"): 202, ("notes", "companies"): 190, ("tasks", "contacts"): 204,
                        ("tasks", "companies"): 192, ("contacts", "companies"): 279}


class SearchError(ValueError):
    """A search HubSpot would reject with 400 VALIDATION_ERROR."""


def encode_after(offset: int) -> str:
    """An opaque paging token shaped like HubSpot's: `"NTI1Cg%3D%3D"` is base64 of "525\\n", URL-encoded."""
    return quote(base64.b64encode(f"{offset}\n".encode()).decode(), safe="")


def decode_after(token: str) -> int:
    """The position inside an `after` token (whether or not the client URL-decoded it once more)."""
    try:
        return int(base64.b64decode(unquote(token), validate=True).decode().strip())
    except ValueError:
        raise SearchError(f"'after' {token!r} is not a paging token this endpoint issued") from None


def object_type(name: str) -> str | None:
    """Canonical type name for a path segment (`contacts`, `0-1`, `CONTACTS`), or None when unknown."""
    name = TYPE_IDS.get(name, name.lower())
    return name if name in ("contacts", "companies", *ENGAGEMENT_TYPES) else None


def cursor_property(obj_type: str) -> str:
    """The modified-date property search filters on: contacts differ from every other object."""
    return "lastmodifieddate" if obj_type == "contacts" else "hs_lastmodifieddate"


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def epoch_ms(value: str) -> int:
    """A HubSpot datetime filter value (epoch milliseconds or ISO string) as epoch ms."""
    if value.strip().lstrip("-").isdigit():
        return int(value)
    ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return int(ts.timestamp() * 1000)


class HubSpotStore:
    """Thread-safe in-memory HubSpot portal. `search_cap` mirrors the 10,000-results-per-search limit."""

    def __init__(self, portal: HubSpotPortal, search_cap: int = 10_000, max_query_length: int = 2000):
        self.portal = portal
        self.search_cap = search_cap
        self.max_query_length = max_query_length
        self._lock = threading.RLock()
        # list endpoints always page with opaque tokens; search pages with offsets ("200") unless this is set
        self.opaque_search_cursors = False
        # (monotonic time, endpoint) of every request the replica answered, for pacing tests
        self.requests: list[tuple[float, str]] = []
        # faults only HubSpot has (truncated bodies, slow answers are Traffic's): stale search copies, malformed records
        self._stale: dict[tuple[str, str], list[CrmRecord]] = {}
        self._corrupt: dict[tuple[str, str], dict] = {}
        # search requests answered per object type, and edits due before the search with that ordinal
        self._searches: dict[str, int] = {}
        self._edits_due: dict[tuple[str, int], list[tuple[str, dict[str, str | None], datetime | None]]] = {}

    # ---- reads -------------------------------------------------------------------------------
    def get(self, obj_type: str, record_id: str) -> CrmRecord:
        return self.portal.objects[obj_type][record_id]

    def value(self, rec: CrmRecord, name: str) -> str | None:
        """A property as the API shows it: a string or None, system dates derived from the record."""
        if name == "hs_object_id":
            return rec.id
        if name in ("createdate", "hs_createdate"):
            return hs_iso(rec.created_at)
        if name in ("lastmodifieddate", "hs_lastmodifieddate"):
            return hs_iso(rec.updated_at)
        value = rec.properties.get(name)
        return None if value is None else str(value)

    def has_property(self, rec: CrmRecord, name: str) -> bool:
        return name in rec.properties or name in ("hs_object_id", "createdate", "hs_createdate",
                                                   "lastmodifieddate", "hs_lastmodifieddate")

    def render(self, rec: CrmRecord, properties: list[str] | None = None,
               associations: list[str] | None = None) -> dict:
        names = properties or DEFAULT_PROPERTIES.get(rec.object_type, ENGAGEMENT_DEFAULTS)
        # unknown properties are ignored silently, like the real API; the system ones always come back
        wanted = dict.fromkeys([*[n for n in names if self.has_property(rec, n)], "hs_object_id",
                                cursor_property(rec.object_type),
                                "createdate" if rec.object_type in ("contacts", "companies") else "hs_createdate"])
        out = {"id": rec.id, "properties": {n: self.value(rec, n) for n in wanted if n not in rec.omitted},
               "createdAt": hs_iso(rec.created_at), "updatedAt": hs_iso(rec.updated_at), "archived": rec.archived}
        if rec.archived and rec.archived_at:
            out["archivedAt"] = hs_iso(rec.archived_at)
        for key, value in self._corrupt.get((rec.object_type, rec.id), {}).items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = value
        if associations:
            assoc = {}
            for to_type in associations:
                to_type = object_type(to_type) or to_type
                ids = self.associated_ids(rec, to_type)
                if ids:
                    label = f"{rec.object_type[:-1]}_to_{to_type[:-1]}"
                    assoc[to_type] = {"results": [{"id": i, "type": label} for i in ids]}
            if assoc:
                out["associations"] = assoc
        return out

    def log_request(self, endpoint: str) -> None:
        with self._lock:
            self.requests.append((time.monotonic(), endpoint))

    def request_times(self, endpoint_prefix: str = "") -> list[float]:
        """When (time.monotonic()) the replica answered each request whose endpoint starts with the prefix."""
        with self._lock:
            return [t for t, endpoint in self.requests if endpoint.startswith(endpoint_prefix)]

    def associated_ids(self, rec: CrmRecord, to_type: str) -> list[str]:
        ids = rec.contact_ids if to_type == "contacts" else rec.company_ids if to_type == "companies" else []
        return sorted(ids, key=int)

    def records(self, obj_type: str, archived: bool = False) -> list[CrmRecord]:
        """List endpoint order: by id ascending; archived=true lists only archived records."""
        with self._lock:
            recs = [r for r in self.portal.objects[obj_type].values() if r.archived == archived]
            return sorted(recs, key=lambda r: int(r.id))

    def search(self, obj_type: str, body: dict) -> list[CrmRecord]:
        """Every live record matching the body's filter groups and sort (paging is the router's job)."""
        groups = body.get("filterGroups") or []
        if len(groups) > 5 or sum(len(g.get("filters") or []) for g in groups) > 25:
            raise SearchError("at most 5 filterGroups and 25 filters are allowed")
        sorts = body.get("sorts") or []
        if len(sorts) > 1:
            raise SearchError("only one sort is allowed")
        with self._lock:
            recs = [r for r in self.portal.objects[obj_type].values() if not r.archived]
            if groups:
                recs = [r for r in recs if any(self._matches(r, g.get("filters") or []) for g in groups)]
            if not sorts:
                return sorted(recs, key=lambda r: int(r.id))
            prop = sorts[0].get("propertyName", "")
            desc = str(sorts[0].get("direction", "ASCENDING")).upper() == "DESCENDING"
            return sorted(recs, key=lambda r: (self._sort_key(r, prop), int(r.id)), reverse=desc)

    def _comparable(self, prop: str, value: str | None):
        if value is None:
            return None
        if prop in DATE_PROPERTIES:
            return epoch_ms(value)
        if prop == "hs_object_id" or value.lstrip("-").isdigit():
            return int(value) if value.lstrip("-").isdigit() else value
        return value

    def _sort_key(self, rec: CrmRecord, prop: str):
        v = self._comparable(prop, self.value(rec, prop))
        return (v is None, v if isinstance(v, int) else 0, v if isinstance(v, str) else "")

    def _matches(self, rec: CrmRecord, filters: list[dict]) -> bool:
        for f in filters:
            op, prop = f.get("operator"), f.get("propertyName", "")
            if op not in FILTER_OPS:
                raise SearchError(f"operator {op} is not supported by the sandbox (use {sorted(FILTER_OPS)})")
            try:
                have = self._comparable(prop, self.value(rec, prop))
                want = self._comparable(prop, str(f.get("value", "")))
            except ValueError:
                raise SearchError(f"{f.get('value')!r} is not a valid value for {prop}") from None
            if have is None or type(have) is not type(want):
                return False
            ok = {"EQ": have == want, "NEQ": have != want, "LT": have < want, "LTE": have <= want,
                  "GT": have > want, "GTE": have >= want}[op]
            if not ok:
                return False
        return True

    def begin_search(self, obj_type: str) -> None:
        """A search request of `obj_type` arrived (the router calls this before answering it): counts it and
        applies the edits `edit_between_pages` scheduled before it."""
        with self._lock:
            answered = self._searches.get(obj_type, 0)
            for record_id, changes, at in self._edits_due.pop((obj_type, answered), []):
                self.edit(obj_type, record_id, changes, at)
            self._searches[obj_type] = answered + 1

    def take_stale_copies(self, obj_type: str, position: str, body: dict) -> list[CrmRecord]:
        """The stale copies queued for the next search of `obj_type` at `position` that match its filters."""
        with self._lock:
            copies = self._stale.pop((obj_type, position), [])
            groups = body.get("filterGroups") or []
            return [c for c in copies if not groups or any(self._matches(c, g.get("filters") or []) for g in groups)]

    # ---- writes (what the person does in HubSpot between runs) --------------------------------
    @staticmethod
    def now() -> datetime:
        ts = datetime.now(UTC)
        return ts.replace(microsecond=(ts.microsecond // 1000) * 1000)

    def edit(self, obj_type: str, record_id: str, changes: dict[str, str | None], at: datetime | None = None) -> CrmRecord:
        """Set property values and bump the modified date."""
        with self._lock:
            rec = self.get(obj_type, record_id)
            rec.properties.update({k: None if v is None else str(v) for k, v in changes.items()})
            rec.updated_at = at or self.now()
            return rec

    def archive(self, obj_type: str, record_id: str, at: datetime | None = None) -> CrmRecord:
        """Delete (archive) a record: search stops returning it, `archived=true` lists it."""
        with self._lock:
            rec = self.get(obj_type, record_id)
            rec.archived, rec.archived_at = True, at or self.now()
            rec.updated_at = rec.archived_at
            return rec

    def add_from_api(self, obj_type: str, payload: dict, contact_ids: list[str] | None = None,
                     company_ids: list[str] | None = None) -> CrmRecord:
        """Adds a record given as the API renders it (a contract fixture), so the replica serves that very shape.

        System dates come from the top-level createdAt/updatedAt; the ones missing from `properties` stay missing.
        """
        props = dict(payload.get("properties") or {})
        rec = CrmRecord(obj_type, str(payload["id"]),
                        {k: v for k, v in props.items() if k not in SYSTEM_DATES and k != "hs_object_id"},
                        _parse_iso(payload["createdAt"]), _parse_iso(payload["updatedAt"]),
                        archived=bool(payload.get("archived")),
                        archived_at=_parse_iso(payload["archivedAt"]) if payload.get("archivedAt") else None,
                        contact_ids=list(contact_ids or []), company_ids=list(company_ids or []),
                        omitted={p for p in SYSTEM_DATES if p not in props})
        with self._lock:
            self.portal.objects[obj_type][rec.id] = rec
        return rec

    def edit_between_pages(self, obj_type: str, record_id: str, changes: dict[str, str | None],
                           after_pages: int = 1, at: datetime | None = None) -> None:
        """Someone edits the record while a client pages: the edit lands right after the next `after_pages`
        searches of `obj_type` were answered, before the one after them. Searches sort and offset the live data
        on every request (as HubSpot's do), so the edited record leaves its place and every later record moves
        one position back. `at` is the new modified date (default: the moment of the edit)."""
        if after_pages < 1:
            raise ValueError("after_pages is at least 1 (an edit before any page is a plain edit)")
        with self._lock:
            due = self._searches.get(obj_type, 0) + after_pages
            self._edits_due.setdefault((obj_type, due), []).append((record_id, dict(changes), at))

    def stale_copy(self, obj_type: str, record_id: str, position: str = "first") -> None:
        """Search index lag: the record as it is now (call this before editing it) comes back once more in the
        next search of its type, at the start of the first page or the end of the last page (`position`),
        alongside its current version: one id twice in one run, with two different updatedAt."""
        if position not in ("first", "last"):
            raise ValueError("position is 'first' or 'last'")
        with self._lock:
            self._stale.setdefault((obj_type, position), []).append(copy.deepcopy(self.get(obj_type, record_id)))

    def corrupt(self, obj_type: str, record_id: str, **fields: object) -> None:
        """A malformed record: these top-level fields are served as given (None leaves the field out)."""
        with self._lock:
            self._corrupt[(obj_type, record_id)] = fields

    def drop_associations(self) -> None:
        """A portal where no engagement is associated with any contact or company."""
        with self._lock:
            for rec in self.portal.engagements():
                rec.contact_ids, rec.company_ids = [], []

    def bulk_stamp(self, obj_type: str, record_ids: list[str], changes: dict[str, str | None],
                   at: datetime | None = None) -> datetime:
        """An import or workflow: many records get the same change and the very same modified timestamp."""
        stamp = at or self.now()
        with self._lock:
            for rid in record_ids:
                self.edit(obj_type, rid, changes, at=stamp)
        return stamp

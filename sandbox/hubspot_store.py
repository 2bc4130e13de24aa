"""The HubSpot replica's state: renders records as the CRM v3 API does, answers searches, applies edits and archives."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sandbox.hubspot_data import ENGAGEMENT_TYPES, TYPE_IDS, CrmRecord, HubSpotPortal, hs_iso

# what a list or search returns when no `properties` are asked for (api reference 2.1)
DEFAULT_PROPERTIES = {
    "contacts": ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"],
    "companies": ["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"],
}
ENGAGEMENT_DEFAULTS = ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"]
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


def object_type(name: str) -> str | None:
    """Canonical type name for a path segment (`contacts`, `0-1`, `CONTACTS`), or None when unknown."""
    name = TYPE_IDS.get(name, name.lower())
    return name if name in ("contacts", "companies", *ENGAGEMENT_TYPES) else None


def cursor_property(obj_type: str) -> str:
    """The modified-date property search filters on: contacts differ from every other object."""
    return "lastmodifieddate" if obj_type == "contacts" else "hs_lastmodifieddate"


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
        out = {"id": rec.id, "properties": {n: self.value(rec, n) for n in wanted},
               "createdAt": hs_iso(rec.created_at), "updatedAt": hs_iso(rec.updated_at), "archived": rec.archived}
        if rec.archived and rec.archived_at:
            out["archivedAt"] = hs_iso(rec.archived_at)
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

    def bulk_stamp(self, obj_type: str, record_ids: list[str], changes: dict[str, str | None],
                   at: datetime | None = None) -> datetime:
        """An import or workflow: many records get the same change and the very same modified timestamp."""
        stamp = at or self.now()
        with self._lock:
            for rid in record_ids:
                self.edit(obj_type, rid, changes, at=stamp)
        return stamp

"""The Notion replica's state: renders pages as the API does, answers queries, applies edits, trashes and renames."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

from sandbox.notion_data import DataSource, NotionWorkspace, Page

_COLORS = ["green", "blue", "yellow", "red", "purple", "gray"]


class QueryError(ValueError):
    """A query Notion would reject with 400 validation_error."""


def iso(ts: datetime) -> str:
    """Notion's timestamp format, rounded to the minute like the real API."""
    return ts.astimezone(UTC).replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:00.000Z")


def parse_ts(value: str) -> datetime:
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
    ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _rich_text(text: str) -> list[dict]:
    if not text:
        return []
    return [{"type": "text", "text": {"content": text, "link": None},
             "annotations": {"bold": False, "italic": False, "strikethrough": False, "underline": False,
                             "code": False, "color": "default"},
             "plain_text": text, "href": None}]


def _option(name: str, options: list[str]) -> dict:
    i = options.index(name) if name in options else len(options)
    return {"id": f"opt{i}", "name": name, "color": _COLORS[i % len(_COLORS)]}


class NotionStore:
    """Thread-safe in-memory Notion. `result_cap` mirrors the 10,000-results-per-query limit."""

    def __init__(self, workspace: NotionWorkspace, result_cap: int = 10_000):
        self.ws = workspace
        self.result_cap = result_cap
        self.shared_databases = {ds.database_id for ds in workspace.data_sources.values()}
        # page id -> top-level fields served instead of the real ones (fault injection: malformed records);
        # filters and sorts still use the page's true values
        self.malformed: dict[str, dict] = {}
        self._lock = threading.RLock()

    # ---- reads -------------------------------------------------------------------------------
    def database(self, database_id: str) -> dict | None:
        ds = self._ds_for_database(database_id)
        if ds is None:
            return None
        return {"object": "database", "id": ds.database_id, "title": _rich_text(ds.title),
                "created_time": iso(ds.created_time), "last_edited_time": iso(ds.created_time),
                "data_sources": [{"id": ds.id, "name": ds.title}], "in_trash": False, "is_inline": False,
                "parent": {"type": "workspace", "workspace": True},
                "url": f"https://www.notion.so/{ds.database_id.replace('-', '')}"}

    def data_source(self, data_source_id: str) -> dict | None:
        ds = self.ws.data_sources.get(data_source_id)
        if ds is None or ds.database_id not in self.shared_databases:
            return None
        props = {}
        for p in ds.properties.values():
            config: dict = {}
            if p.type in ("select", "multi_select"):
                config = {"options": [_option(o, p.options) for o in p.options]}
            props[p.name] = {"id": p.id, "name": p.name, "type": p.type, p.type: config}
        return {"object": "data_source", "id": ds.id, "title": _rich_text(ds.title), "properties": props,
                "parent": {"type": "database_id", "database_id": ds.database_id},
                "database_parent": {"type": "workspace", "workspace": True},
                "created_time": iso(ds.created_time), "last_edited_time": iso(ds.created_time)}

    def render_page(self, page: Page, only_properties: list[str] | None = None) -> dict:
        """A page as the API returns it; `only_properties` (ids or names) is the `filter_properties` parameter."""
        ds = self.ws.data_sources[page.data_source_id]
        props = {}
        for pid, spec in ds.properties.items():
            if only_properties is not None and pid not in only_properties and spec.name not in only_properties:
                continue
            v = page.values.get(pid)
            if spec.type == "title":
                value: object = _rich_text(str(v or ""))
            elif spec.type == "rich_text":
                value = _rich_text(str(v or ""))
            elif spec.type == "date":
                # a dict is a range or a zoned date set by a test: {"start", "end", "time_zone"}
                value = ({"start": None, "end": None, "time_zone": None, **v} if isinstance(v, dict)
                         else {"start": v, "end": None, "time_zone": None} if v else None)
            elif spec.type == "checkbox":
                value = bool(v)
            elif spec.type == "select":
                value = _option(v, spec.options) if v else None
            elif spec.type == "multi_select":
                value = [_option(t, spec.options) for t in (v or [])]
            else:
                value = v
            props[spec.name] = {"id": pid, "type": spec.type, spec.type: value}
        rendered = {"object": "page", "id": page.id, "created_time": iso(page.created_time),
                    "last_edited_time": iso(page.last_edited_time),
                    "created_by": {"object": "user", "id": "synthetic-person"},
                    "last_edited_by": {"object": "user", "id": "synthetic-person"},
                    "cover": None, "icon": None,
                    "parent": {"type": "data_source_id", "data_source_id": ds.id, "database_id": ds.database_id},
                    "archived": page.in_trash, "in_trash": page.in_trash, "properties": props,
                    "url": f"https://www.notion.so/{page.id.replace('-', '')}", "public_url": None}
        return {**rendered, **self.malformed.get(page.id, {})}

    def query(self, data_source_id: str, body: dict) -> list[Page] | None:
        """All pages matching the body's filter and sorts (paging is the router's job)."""
        ds = self.ws.data_sources.get(data_source_id)
        if ds is None or ds.database_id not in self.shared_databases:
            return None
        with self._lock:
            pages = [p for p in self.ws.pages.values() if p.data_source_id == ds.id]
            # Live pages only, unless the body asks for the trash: then *only* trashed pages, the reading
            # api-reference 1.3 documents (third-party SDK docs for `in_trash: true`, the 2026-07-15
            # changelog for `is_archived`). A loader that sends the flag expecting both sets loses the live one.
            wants_trash = any(body.get(flag) for flag in ("in_trash", "archived", "is_archived"))
            pages = [p for p in pages if p.in_trash == wants_trash]
            if body.get("filter"):
                pages = [p for p in pages if _matches(body["filter"], p, ds)]
            return _sorted(pages, body.get("sorts") or [], ds)

    # ---- writes (what the person does in Notion between runs) ---------------------------------
    def now(self) -> datetime:
        return datetime.now(UTC).replace(second=0, microsecond=0)

    def edit_page(self, page_id: str, changes: dict[str, object], at: datetime | None = None) -> Page:
        """Set property values (keys are property names or ids) and bump last_edited_time."""
        with self._lock:
            page = self.ws.pages[page_id]
            ds = self.ws.data_sources[page.data_source_id]
            for key, value in changes.items():
                pid = key if key in ds.properties else ds.prop_by_name(key).id
                page.values[pid] = value
            page.last_edited_time = (at or self.now()).replace(second=0, microsecond=0)
            return page

    def trash_page(self, page_id: str, at: datetime | None = None) -> Page:
        with self._lock:
            page = self.ws.pages[page_id]
            page.in_trash = True
            page.last_edited_time = (at or self.now()).replace(second=0, microsecond=0)
            return page

    def malform_page(self, page_id: str, **fields: object) -> None:
        """Serve these top-level fields for the page from now on, e.g. `last_edited_time=None`."""
        with self._lock:
            if page_id not in self.ws.pages:
                raise KeyError(page_id)
            self.malformed.setdefault(page_id, {}).update(fields)

    def rename_property(self, data_source_id: str, old_name: str, new_name: str) -> str:
        """Rename a column. Like Notion, this does not touch any page's last_edited_time."""
        with self._lock:
            ds = self.ws.data_sources[data_source_id]
            spec = ds.prop_by_name(old_name)
            spec.name = new_name
            return spec.id

    def unshare(self, database_id: str) -> None:
        self.shared_databases.discard(database_id)

    def _ds_for_database(self, database_id: str) -> DataSource | None:
        if database_id not in self.shared_databases:
            return None
        return next((d for d in self.ws.data_sources.values() if d.database_id == database_id), None)


_TS_OPS = {
    "equals": lambda a, b: a == b, "before": lambda a, b: a < b, "after": lambda a, b: a > b,
    "on_or_before": lambda a, b: a <= b, "on_or_after": lambda a, b: a >= b,
}


def _matches(f: dict, page: Page, ds: DataSource) -> bool:
    if "and" in f:
        return all(_matches(x, page, ds) for x in f["and"])
    if "or" in f:
        return any(_matches(x, page, ds) for x in f["or"])
    if f.get("timestamp") in ("last_edited_time", "created_time"):
        field_name = f["timestamp"]
        cond = f.get(field_name) or {}
        value = getattr(page, field_name).replace(second=0, microsecond=0)
        for op, arg in cond.items():
            if op not in _TS_OPS:
                raise QueryError(f"Unsupported {field_name} filter condition: {op}")
            if not _TS_OPS[op](value, parse_ts(arg)):
                return False
        return True
    if "property" in f:
        spec = next((p for p in ds.properties.values() if f["property"] in (p.name, p.id)), None)
        if spec is None:
            raise QueryError(f"Could not find property with name or id: {f['property']}")
        value = page.values.get(spec.id)
        if spec.type == "checkbox":
            return bool(value) == bool(f["checkbox"]["equals"])
        if spec.type == "date":
            cond = f["date"]
            value = value.get("start") if isinstance(value, dict) else value
            return all(_TS_OPS[op](parse_ts(value), parse_ts(arg)) for op, arg in cond.items() if value)
        raise QueryError(f"Filtering on {spec.type} is not supported by the sandbox")
    raise QueryError("body.filter should be a timestamp, property or compound filter")


def _sorted(pages: list[Page], sorts: list[dict], ds: DataSource) -> list[Page]:
    if len(sorts) > 1:
        raise QueryError("The sandbox supports one sort")
    if not sorts:
        return sorted(pages, key=lambda p: (p.created_time, p.id), reverse=True)
    s = sorts[0]
    desc = s.get("direction") == "descending"
    if s.get("timestamp") in ("last_edited_time", "created_time"):
        key = s["timestamp"]
        return sorted(pages, key=lambda p: (getattr(p, key).replace(second=0), p.id), reverse=desc)
    spec = next((p for p in ds.properties.values() if s.get("property") in (p.name, p.id)), None)
    if spec is None:
        raise QueryError(f"Could not find sort property with name or id: {s.get('property')}")
    return sorted(pages, key=lambda p: (str(p.values.get(spec.id) or ""), p.id), reverse=desc)

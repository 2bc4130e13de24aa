"""Notion page objects -> raw rows: one row per page, its property values as text in a child table."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pipelines.common.incremental_window import content_hash, iso_ms

if TYPE_CHECKING:
    from pipelines.notion.client import HabitDataSource

# property-value columns of the child table, always text whatever the first value looks like
TEXT_COLUMNS = ("value_text", "date_end", "date_time_zone")


class UnreadablePage(ValueError):
    """A page that breaks the contract the loader needs (its reason goes to the rejected records)."""


def rich_text(items: list | None) -> str:
    """Plain text of a rich-text array. `plain_text` when present, else `text.content` (or an equation's expression):
    objects built by SDKs and some integrations carry only the request shape."""
    out = []
    for item in items or []:
        if not isinstance(item, dict):
            continue
        if item.get("plain_text") is not None:
            out.append(str(item["plain_text"]))
        elif isinstance(item.get("text"), dict):
            out.append(str(item["text"].get("content") or ""))
        elif isinstance(item.get("equation"), dict):
            out.append(str(item["equation"].get("expression") or ""))
    return "".join(out)


def _date(value: dict | None) -> tuple[str | None, str | None, str | None]:
    """(start, end, time_zone) of a date value; all None for an empty date."""
    if not isinstance(value, dict):
        return None, None, None
    return value.get("start"), value.get("end"), value.get("time_zone")


def _scalar(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True) if value else None
    return str(value)


def property_value(prop: dict) -> tuple[str | None, str | None, str | None]:
    """(value as text, date end, date time zone) of one page property value.

    Formulas and rollups Notion did not compute (`type: "unsupported"` or `"incomplete"`) are null.
    """
    kind = prop.get("type")
    value = prop.get(kind) if kind else None
    if kind in ("title", "rich_text"):
        return rich_text(value) or None, None, None
    if kind == "checkbox":
        return ("true" if value else "false"), None, None
    if kind in ("select", "status"):
        return (value.get("name") if isinstance(value, dict) else None), None, None
    if kind == "multi_select":
        return ";".join(o.get("name", "") for o in value or []) or None, None, None
    if kind == "date":
        return _date(value)
    if kind in ("formula", "rollup"):
        return _computed(value)
    if kind in ("people", "relation"):
        return ";".join(str(o.get("name") or o.get("id")) for o in value or [] if isinstance(o, dict)) or None, None, None
    if kind == "files":
        return ";".join(str(f.get("name", "")) for f in value or [] if isinstance(f, dict)) or None, None, None
    if kind in ("created_by", "last_edited_by"):
        return (value.get("id") if isinstance(value, dict) else None), None, None
    if kind == "unique_id" and isinstance(value, dict):
        prefix, number = value.get("prefix"), value.get("number")
        return (None if number is None else f"{prefix}-{number}" if prefix else str(number)), None, None
    return _scalar(value), None, None


def _computed(value: dict | None) -> tuple[str | None, str | None, str | None]:
    """A formula or rollup result: `{"type": "number", "number": 3}`, a date, an array of values, or unsupported."""
    if not isinstance(value, dict):
        return None, None, None
    kind = value.get("type")
    inner = value.get(kind) if kind else None
    if kind == "date":
        return _date(inner)
    if kind == "array":
        texts = [property_value(element)[0] for element in inner or [] if isinstance(element, dict)]
        return ";".join(t for t in texts if t is not None) or None, None, None
    if kind in ("string", "number", "boolean"):
        return _scalar(inner), None, None
    return None, None, None  # unsupported, incomplete or a type this loader does not know


def _timestamp(page: dict, field: str) -> str:
    value = page.get(field)
    try:
        return iso_ms(value)
    except (TypeError, ValueError):
        raise UnreadablePage(f"{field} is missing or not an ISO timestamp: {value!r}") from None


def flatten_page(page: dict, ds: HabitDataSource) -> dict:
    """One raw row per page; its properties become a child table keyed by the stable property id.

    Raises UnreadablePage (or another error) for a page the loader cannot use; the caller rejects it.
    """
    if not isinstance(page, dict) or not page.get("id"):
        raise UnreadablePage("the page has no id")
    created, edited = _timestamp(page, "created_time"), _timestamp(page, "last_edited_time")
    if not isinstance(page.get("properties", {}), dict):
        raise UnreadablePage("properties is not an object")
    properties = []
    for name, prop in (page.get("properties") or {}).items():
        if not isinstance(prop, dict) or not prop.get("id"):
            raise UnreadablePage(f"property {name!r} has no id")
        text, end, time_zone = property_value(prop)
        value = {"page_id": page["id"], "property_id": prop["id"], "property_name": name,
                 "property_type": prop.get("type"), "value_text": text}
        # a date range's end and a date's time zone: columns dlt creates once some page has one
        # (dlt's nested-table column hints mis-handle `__` in resource names, so they cannot be declared)
        value.update({k: v for k, v in (("date_end", end), ("date_time_zone", time_zone)) if v is not None})
        properties.append(value)
    title = next((r["value_text"] for r in properties if r["property_type"] == "title"), None)
    habit_date = next((r["value_text"] for r in properties if r["property_id"] == ds.date_property_id), None)
    return {
        "page_id": page["id"],
        "database_id": ds.database_id,
        "data_source_id": ds.data_source_id,
        "frequency": ds.frequency,
        "title": title,
        "habit_date": habit_date[:10] if habit_date else None,
        "created_time": created,
        "last_edited_time": edited,
        "is_deleted": bool(page.get("in_trash") or page.get("archived") or page.get("is_archived")),
        "url": page.get("url"),
        "content_hash": content_hash(page),
        "properties": properties,
    }

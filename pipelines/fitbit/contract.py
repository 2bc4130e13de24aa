"""Checks JSON against the Google Health API's machine-readable contract: the discovery document
`health.v4.json` that ships inside google-api-python-client (googleapiclient/discovery_cache/documents).

A discovery document describes each schema with JSON-Schema-like members (`type`, `format`, `$ref`,
`items`, `additionalProperties`, `enum`) and states required-ness only in prose: a property whose
description starts with "Required." must be present. What `problems()` checks:
- every member is a documented property of its schema (a misspelt or invented member is a problem);
- types: object, array, string, integer (int32), number, boolean, any; `$ref`s resolved;
- formats: int64/uint64 are JSON *strings* of digits (the API sends `"beatsPerMinute": "72"`),
  google-datetime is RFC 3339, google-duration is `<seconds>s`, int32 is a JSON integer;
- enums: the value is one of the documented ones;
- required members (as documented) are present;
- a DataPoint / ReconciledDataPoint holds exactly one value member of the data union.
It returns every problem with its JSON path (`$.dataPoints[3].heartRate.beatsPerMinute: ...`).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import googleapiclient

DISCOVERY_PATH = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "health.v4.json"
# the members of a DataPoint that are not part of its data union
_UNION_ENVELOPE = {"DataPoint": {"name", "dataSource"}, "ReconciledDataPoint": {"dataPointName"}}
_INT64 = re.compile(r"^-?\d+$")
_UINT64 = re.compile(r"^\d+$")
_DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_SPECIAL_NUMBERS = {"NaN", "Infinity", "-Infinity"}  # proto3 JSON writes these as strings


@cache
def discovery() -> dict:
    """The health.v4 discovery document from the installed google-api-python-client."""
    return json.loads(DISCOVERY_PATH.read_text())


def schema(name: str) -> dict:
    return discovery()["schemas"][name]


def response_schema(resource_path: str, method: str) -> str:
    """The response schema of a method, e.g. ('users.dataTypes.dataPoints', 'reconcile') -> ReconcileDataPointsResponse."""
    node: dict = discovery()
    for part in resource_path.split("."):
        node = node["resources"][part]
    return node["methods"][method]["response"]["$ref"]


def problems(value: Any, schema_name: str) -> list[str]:
    """Every way `value` breaks the schema `schema_name` of the discovery document (empty: it conforms)."""
    out: list[str] = []
    _check(value, {"$ref": schema_name}, "$", out)
    return out


def _is_required(prop: dict) -> bool:
    return prop.get("description", "").lstrip().startswith("Required.")


def _check(value: Any, spec: dict, path: str, out: list[str]) -> None:
    if "$ref" in spec:
        name = spec["$ref"]
        target = schema(name)
        _check_object(value, target, name, path, out)
        return
    kind = spec.get("type")
    fmt = spec.get("format")
    if kind == "object":
        _check_object(value, spec, None, path, out)
    elif kind == "array":
        if not isinstance(value, list):
            out.append(f"{path}: expected an array, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _check(item, spec.get("items", {}), f"{path}[{i}]", out)
    elif kind == "string":
        _check_string(value, fmt, spec, path, out)
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(f"{path}: expected a JSON integer ({fmt or 'int32'}), got {value!r}")
    elif kind == "number":
        if isinstance(value, bool) or not (isinstance(value, int | float) or value in _SPECIAL_NUMBERS):
            out.append(f"{path}: expected a number, got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            out.append(f"{path}: expected a boolean, got {value!r}")
    elif kind not in ("any", None):
        out.append(f"{path}: the contract has an unknown type {kind!r}")


def _check_string(value: Any, fmt: str | None, spec: dict, path: str, out: list[str]) -> None:
    if not isinstance(value, str):
        what = "an int64 as a JSON string" if fmt in ("int64", "uint64") else "a string"
        out.append(f"{path}: expected {what}, got {value!r}")
        return
    if fmt == "int64" and not _INT64.match(value):
        out.append(f"{path}: {value!r} is not an int64 string")
    elif fmt == "uint64" and not _UINT64.match(value):
        out.append(f"{path}: {value!r} is not a uint64 string")
    elif fmt == "google-duration" and not _DURATION.match(value):
        out.append(f"{path}: {value!r} is not a duration like '3600s'")
    elif fmt == "google-datetime":
        if not _RFC3339.match(value):
            out.append(f"{path}: {value!r} is not an RFC 3339 timestamp")
        else:
            try:
                datetime.fromisoformat(re.sub(r"\.(\d{6})\d+", r".\1", value).replace("Z", "+00:00"))
            except ValueError:
                out.append(f"{path}: {value!r} is not a valid date-time")
    if "enum" in spec and value not in spec["enum"]:
        out.append(f"{path}: {value!r} is not one of the documented values of this enum")


def _check_object(value: Any, spec: dict, name: str | None, path: str, out: list[str]) -> None:
    if not isinstance(value, dict):
        out.append(f"{path}: expected an object{f' ({name})' if name else ''}, got {type(value).__name__}")
        return
    properties = spec.get("properties", {})
    extra = spec.get("additionalProperties")
    for key, item in value.items():
        if key in properties:
            _check(item, properties[key], f"{path}.{key}", out)
        elif extra is not None:
            _check(item, extra, f"{path}.{key}", out)
        else:
            out.append(f"{path}.{key}: not a member of {name or 'this object'}")
    for key, prop in properties.items():
        if _is_required(prop) and key not in value:
            out.append(f"{path}.{key}: required by the contract but missing")
    if name in _UNION_ENVELOPE:
        members = [k for k in value if k in properties and k not in _UNION_ENVELOPE[name]]
        if len(members) != 1:
            out.append(f"{path}: a {name} holds exactly one data member, found {members or 'none'}")

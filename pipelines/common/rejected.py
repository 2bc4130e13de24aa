"""Rejected records (design.md): a record that cannot be parsed or fails a contract goes to
`raw.<source>__rejected` with its reason while the rest of the batch loads.

Sources call `reject(...)` inside a resource and yield what it returns; the row lands in the source's
rejected table (merged on a key derived from what was rejected, so re-running the same input adds
nothing). The runner reads the per-entity counts kept here, prints them, writes them to the ledger and
fails the run when an entity's rejections exceed the source's threshold.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import Counter
from typing import Any

import dlt

PAYLOAD_MAX_CHARS = 4000
DEFAULT_THRESHOLD = 0.01  # more than 1 % of an entity's records rejected in one run fails the run

_lock = threading.Lock()
_counts: dict[str, Counter[str]] = {}

COLUMNS = {
    "rejected_id": {"data_type": "text", "nullable": False},
    "source": {"data_type": "text", "nullable": False},
    "entity": {"data_type": "text", "nullable": False},
    "record_key": {"data_type": "text"},
    "reason": {"data_type": "text", "nullable": False},
    "payload": {"data_type": "text"},
    "origin": {"data_type": "text"},  # the file or endpoint the record came from
}


def table_name(source: str) -> str:
    return f"{source}__rejected"


def rejected_row(source: str, entity: str, reason: str, payload: Any, key: str | None = None,
                 origin: str | None = None) -> dict:
    """The row for one rejected record. Its id hashes what was rejected, so the same bad input maps to one row."""
    text = payload if isinstance(payload, str) else json.dumps(payload, default=str, sort_keys=True)
    if len(text) > PAYLOAD_MAX_CHARS:
        text = text[:PAYLOAD_MAX_CHARS] + f"... [{len(text) - PAYLOAD_MAX_CHARS} more characters]"
    digest = hashlib.sha256(json.dumps([source, entity, key, origin, reason, text]).encode()).hexdigest()[:32]
    return {"rejected_id": digest, "source": source, "entity": entity, "record_key": key, "reason": reason,
            "payload": text, "origin": origin}


def reject(source: str, entity: str, reason: str, payload: Any, key: str | None = None, origin: str | None = None):
    """Count one rejection and return the item to yield from a resource (it goes to `<source>__rejected`)."""
    with _lock:
        _counts.setdefault(source, Counter())[entity] += 1
    row = rejected_row(source, entity, reason, payload, key, origin)
    return dlt.mark.with_hints(row, dlt.mark.make_hints(
        table_name=table_name(source), primary_key="rejected_id", write_disposition="merge", columns=COLUMNS),
        create_table_variant=True)


def rejected_counts(source: str) -> dict[str, int]:
    with _lock:
        return dict(_counts.get(source, {}))


def reset_rejected_counts(source: str) -> None:
    with _lock:
        _counts.pop(source, None)


def threshold(source: str) -> float:
    """`<SOURCE>_REJECTED_THRESHOLD` or `REJECTED_THRESHOLD` (a fraction, e.g. 0.01), default 1 %."""
    for var in (f"{source.upper()}_REJECTED_THRESHOLD", "REJECTED_THRESHOLD"):
        if os.environ.get(var, "").strip():
            return float(os.environ[var])
    return DEFAULT_THRESHOLD


def over_threshold(source: str, loaded_rows: dict[str, int]) -> list[str]:
    """Entities whose rejections exceed the threshold, as readable lines; `loaded_rows` maps table -> rows loaded."""
    limit = threshold(source)
    lines = []
    for entity, bad in sorted(rejected_counts(source).items()):
        good = loaded_rows.get(f"{source}__{entity}", 0)
        share = bad / (bad + good) if bad + good else 0.0
        if share > limit:
            lines.append(f"{entity}: {bad} of {bad + good} records rejected ({share:.1%} > {limit:.1%})")
    return lines

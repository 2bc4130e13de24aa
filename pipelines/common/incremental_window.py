"""A content-hash filter for rows re-read inside an incremental cursor's lag window."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta


def content_hash(obj: object) -> str:
    """A stable hash of a JSON-able record as the API returned it."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def iso_ms(value: object, minus_seconds: float = 0) -> str:
    """Any timestamp (str or datetime) as UTC ISO with milliseconds and a Z, so string comparisons hold."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC) - timedelta(seconds=minus_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class LagWindowFilter:
    """Remembers the hashes of rows whose cursor lies inside the lag window, in the resource's dlt state.

    dlt turns its own boundary de-duplication off when `lag` is set, so every run re-reads the last
    `lag` seconds; without this filter a run with nothing new would still load those rows again.
    """

    def __init__(self, state: dict, key: str = "recent_hashes"):
        self._state, self._key = state, key
        self._recent: dict[str, str] = dict(state.get(key, {}))

    def is_new(self, row_hash: str, cursor_value: str) -> bool:
        """True (and remembered) the first time a row version is seen."""
        if row_hash in self._recent:
            return False
        self._recent[row_hash] = cursor_value
        return True

    def save(self, window_start: str) -> None:
        """Keep only hashes that the next run's lagged cursor can re-read (cursor >= window_start)."""
        self._state[self._key] = {h: ts for h, ts in self._recent.items() if ts >= window_start}

"""Incremental state per Notion data source, kept in the habit-pages resource's dlt state.

One `last_edited_time` cursor per data source (not one for all): a database added to the config later
gets its whole history, whatever the others' cursors say. Layout, under the resource state:

    data_sources: {<data_source_id>: {frequency, last_edited_time, recent_hashes, runs_since_reconcile}}

State written by the single-cursor loader (dlt's `incremental.last_edited_time` plus `recent_hashes`)
is migrated on the first run: each data source that loader knew is seeded from the old cursor.
"""

from __future__ import annotations

from pipelines.common.incremental_window import LagWindowFilter, iso_ms
from pipelines.notion.client import HabitDataSource
from pipelines.notion.settings import EPOCH


class DataSourceCursor:
    """One data source's cursor for this run: where to read from, which re-read rows are old news."""

    def __init__(self, ds: HabitDataSource, state: dict, lag_seconds: float):
        self.ds, self.state, self.lag_seconds = ds, state, lag_seconds
        self.first_load = state.get("last_edited_time") is None
        self.newest: str = state.get("last_edited_time") or EPOCH
        # Notion rounds edit times to the minute: re-read a lag below the cursor, drop unchanged rows by hash
        self.floor = EPOCH if self.first_load else iso_ms(self.newest, lag_seconds)
        self._seen = LagWindowFilter(state)

    def describe(self) -> str:
        return f"{self.ds.label}: first load" if self.first_load else f"{self.ds.label}: incremental from {self.floor}"

    def is_new(self, row: dict) -> bool:
        """Advance the cursor to the row; True unless this exact row version was loaded already."""
        self.newest = max(self.newest, row["last_edited_time"])
        return self._seen.is_new(row["content_hash"], row["last_edited_time"])

    def reconcile_due(self, every: int) -> bool:
        """An id-only reconcile is due on every `every`-th incremental run (never when `every` is 0).

        A first load reads every live page, so it has nothing to reconcile.
        """
        return not self.first_load and every > 0 and self.state.get("runs_since_reconcile", 0) + 1 >= every

    def save(self, reconciled: bool) -> None:
        """Keep the new cursor; a run without a complete reconcile brings the next one a run closer."""
        self.state["frequency"] = self.ds.frequency
        self.state["last_edited_time"] = self.newest
        self.state["runs_since_reconcile"] = 0 if reconciled or self.first_load else \
            self.state.get("runs_since_reconcile", 0) + 1
        self._seen.save(window_start=iso_ms(self.newest, self.lag_seconds))


def data_source_cursors(resource_state: dict, source_state: dict, data_sources: list[HabitDataSource],
                        lag_seconds: float) -> tuple[list[DataSourceCursor], list[str]]:
    """A cursor per configured data source, and run-log lines about migrated or dropped state."""
    by_id: dict[str, dict] = resource_state.setdefault("data_sources", {})
    notes = _migrate_single_cursor(resource_state, source_state, data_sources)
    configured = {ds.data_source_id for ds in data_sources}
    for ds_id in sorted(set(by_id) - configured):
        gone = by_id.pop(ds_id)
        notes.append(f"{gone.get('frequency', '?')} (ds {ds_id}) is no longer configured: its cursor is dropped "
                     "(a later re-add loads its whole history); its raw rows stay")
    cursors = [DataSourceCursor(ds, by_id.setdefault(ds.data_source_id, {}), lag_seconds) for ds in data_sources]
    return cursors, notes


def _migrate_single_cursor(resource_state: dict, source_state: dict, data_sources: list[HabitDataSource]) -> list[str]:
    """Seed per-data-source cursors from the single cursor an older loader kept, then drop the old state.

    The data sources that loader knew are the keys of the schema hashes its data-sources resource kept;
    without those, every configured data source is taken as known.
    """
    legacy = resource_state.pop("incremental", None) or {}
    legacy_hashes = resource_state.pop("recent_hashes", None) or {}
    data_sources_state = (source_state.get("resources") or {}).get("notion__data_sources") or {}
    known = data_sources_state.pop("schema_hashes", None)
    last_value = (legacy.get("last_edited_time") or {}).get("last_value")
    if last_value is None:
        return []
    cursor = iso_ms(last_value)
    by_id: dict[str, dict] = resource_state["data_sources"]
    seeded = []
    for ds in data_sources:
        if (known is None or ds.data_source_id in known) and ds.data_source_id not in by_id:
            by_id[ds.data_source_id] = {"frequency": ds.frequency, "last_edited_time": cursor,
                                        "recent_hashes": dict(legacy_hashes), "runs_since_reconcile": 0}
            seeded.append(ds.frequency)
    return [f"migrated the single last_edited_time cursor ({cursor}) to one per data source: "
            f"{', '.join(seeded) or 'none still configured'}"]

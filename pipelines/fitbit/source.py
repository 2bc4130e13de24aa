"""Fitbit and Pixel data from the Google Health API v4 -> raw.fitbit__<entity>, tables this pipeline alone owns.

Twelve data types (heart rate, steps, sleep, weight, body fat, daily resting heart rate, HRV, SpO2,
exercise, active energy, basal energy, active minutes), each read from the reconciled stream with an AIP-160 filter on its own time member, newest
first, page by page into Arrow tables (data_types.py).

Incremental, per data type: the first run backfills from `start_date`; later runs re-read from `lag_days`
before the newest date the previous run saw (the state, in dlt resource state, is committed only with
a successful load). The API has no change feed and no updated-since filter, so edits and deletions are
only visible by re-reading, and a re-read replaces: each run's merge deletes every row of the window it
re-read (`window_date >= since`, dlt's delete-insert with a destination scope) and inserts what the API
answers now. A point that vanished from the window is gone downstream; rows before the window are
never touched.

The source's dlt schema is `google_health`, not `fitbit`: the legacy tables older versions wrote
(fitbit__sleep, fitbit__heart_rate_intraday, ...) live in the old `fitbit` schema of this pipeline, so a
full refresh (`refresh="drop_sources"` drops the tables of the source's own schema) can never drop them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.extract.resource import DltResource

from pipelines.common import bigquery_layout
from pipelines.common.errors import SourceError
from pipelines.common.rejected import reject
from pipelines.fitbit.client import HealthApiClient
from pipelines.fitbit.data_types import BY_ENTITY, DATA_TYPES, TS_LOCAL, DataType
from pipelines.fitbit.settings import API_BASE_URL, DEFAULT_TOKEN_STORE_PATH, LAG_DAYS, START_DATE, TOKEN_URI
from pipelines.fitbit.tokens import open_token_store

SOURCE = "fitbit"
SCHEMA = "google_health"


@dlt.source(name=SCHEMA, section=SOURCE)
def fitbit_source(
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    refresh_token: str | None = dlt.secrets.value,
    api_base_url: str = API_BASE_URL,
    token_uri: str = TOKEN_URI,
    token_store: str | None = None,
    token_store_path: str = DEFAULT_TOKEN_STORE_PATH,
    start_date: str = START_DATE,
    end_date: str | None = None,
    lag_days: int = LAG_DAYS,
    data_types: list[str] | None = None,
):
    """The Google Health API data of the consenting user (`users/me`), one resource per data type.

    The refresh token lives in `token_store` (`gsm://projects/<p>/secrets/<s>` for Google Secret
    Manager) or, when that is unset, in the local file `token_store_path`; `refresh_token` seeds an
    empty store. `end_date` (inclusive) bounds a backfill; `data_types` picks entities (default: all).
    """
    unknown = sorted(set(data_types or ()) - set(BY_ENTITY))
    if unknown:
        raise SourceError(f"unknown sources.fitbit.data_types {unknown}: choose from {', '.join(BY_ENTITY)}")
    client = HealthApiClient(api_base_url, client_id, client_secret, open_token_store(token_store, token_store_path),
                             refresh_token, token_uri)
    client.store_location = token_store or None
    window = Window(date.fromisoformat(start_date),
                    date.fromisoformat(end_date) + timedelta(days=1) if end_date else None, int(lag_days))
    selected = [BY_ENTITY[name] for name in data_types] if data_types else DATA_TYPES
    # the high-volume tables partitioned and clustered when the destination is BigQuery (bigquery_layout)
    return [bigquery_layout.adapt(data_points(client, data_type, window), f"{SOURCE}__{data_type.entity}")
            for data_type in selected]


@dataclass(frozen=True)
class Window:
    """Which dates a run re-reads: from `lag_days` before the newest date seen (the first run: `start`).

    `start` and `until` are the user's local dates; a type filtered on physical time has UTC window dates,
    so its bounds widen by a day each way (a local day spans two UTC dates, offsets reach +-14 h): the
    first local day is loaded whole, whatever the zone. The lag is counted in the type's own dates."""

    start: date
    until: date | None  # exclusive; None = up to now
    lag_days: int

    def bounds(self, data_type: DataType, newest_seen: str | None) -> tuple[date, date | None]:
        pad = timedelta(days=1 if data_type.literal == "timestamp" else 0)
        first = self.start - pad
        since = max(first, date.fromisoformat(newest_seen) - timedelta(days=self.lag_days)) if newest_seen else first
        return since, (self.until + pad if self.until else None)

    @staticmethod
    def scope(since: date, until: date | None) -> str:
        """The destination rows this run's merge replaces (portable SQL: DuckDB, Postgres, BigQuery)."""
        condition = f"window_date >= '{since.isoformat()}'"
        return condition + (f" and window_date < '{until.isoformat()}'" if until else "")


def data_points(client: HealthApiClient, data_type: DataType, window: Window) -> DltResource:
    """The resource of one data type: `fitbit__<entity>`, its window replaced on every run."""

    def read() -> Iterator[pa.Table | dict]:
        state = dlt.current.resource_state()
        since, until = window.bounds(data_type, state.get("newest_window_date"))
        # the first item carries this run's scope and is always there, so the merge (and its delete) runs even
        # when the window came back empty: what vanished from it is deleted
        yield dlt.mark.with_hints(data_type.schema.empty_table(), dlt.mark.make_hints(write_disposition={
            "disposition": "merge", "strategy": "delete-insert", "destination_scope": window.scope(since, until)}))
        newest, outside = state.get("newest_window_date"), 0
        for table, bad in client.tables(data_type, data_type.filter(since, until)):
            for point, reason in bad:
                yield reject(SOURCE, data_type.entity, reason, point, origin=data_type.origin)
            table, dropped = _inside(table, since, until)
            outside += dropped
            if table.num_rows:
                page_newest = pc.max(table["window_date"]).as_py().isoformat()
                newest = max(newest or page_newest, page_newest)
                yield table
        if outside:
            print(f"[{SOURCE}] {data_type.kebab}: ignored {outside} points the API sent from outside the filter's "
                  f"window", file=sys.stderr)
        if newest:
            state["newest_window_date"] = newest
        state["last_window_start"] = since.isoformat()

    # wall-clock columns stay zone-less (dlt would otherwise store every timestamp as an instant)
    local_columns = {f.name: {"data_type": "timestamp", "timezone": False}
                     for f in data_type.schema if f.type == TS_LOCAL}
    return dlt.resource(read, name=f"{SOURCE}__{data_type.entity}", columns=local_columns,
                        write_disposition={"disposition": "merge", "strategy": "delete-insert"})


def _inside(table: pa.Table, since: date, until: date | None) -> tuple[pa.Table, int]:
    """Rows inside the window only: a row outside it would never be replaced by a later re-read."""
    if not table.num_rows:
        return table, 0
    keep = pc.greater_equal(table["window_date"], pa.scalar(since, pa.date32()))
    if until is not None:
        keep = pc.and_(keep, pc.less(table["window_date"], pa.scalar(until, pa.date32())))
    kept = table.filter(keep)
    return kept, table.num_rows - kept.num_rows

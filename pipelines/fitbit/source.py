"""Fitbit Web API -> raw.fitbit__* (the same tables and keys as the data-export import in fitbit_export.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import dlt
import pyarrow as pa

from pipelines.fitbit.client import BudgetSpent, FitbitClient, RequestBudget, report_budget_stop
from pipelines.fitbit.records import STAGE_LEVELS, keys_not_null, sleep_row
from pipelines.fitbit.settings import API_BASE_URL, DEFAULT_TOKEN_STORE_PATH, HOURLY_BUDGET, REPULL_DAYS, START_DATE
from pipelines.fitbit.tokens import open_token_store

LOCAL_TS = {"data_type": "timestamp", "timezone": False}


@dlt.source(name="fitbit", section="fitbit")
def fitbit_source(
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    refresh_token: str | None = dlt.secrets.value,
    api_base_url: str = API_BASE_URL,
    token_store: str | None = None,
    token_store_path: str = DEFAULT_TOKEN_STORE_PATH,
    start_date: str = START_DATE,
    end_date: str | None = None,
    repull_days: int = REPULL_DAYS,
    hourly_budget: int = HOURLY_BUDGET,
):
    """Sleep, daily steps, resting heart rate, per-second heart rate and weight, walked in date windows.

    Each resource keeps the first date it has not finished in its state and re-pulls the last
    `repull_days` (late syncs, edits). When the budget is spent the run stops cleanly.
    The token pair lives in `token_store` (`gsm://projects/<p>/secrets/<s>` for Google Secret
    Manager) or, when that is unset, in the local file `token_store_path`.
    """
    budget = RequestBudget(hourly_budget)
    client = FitbitClient(api_base_url, client_id, client_secret, open_token_store(token_store, token_store_path),
                          refresh_token, budget)
    first = date.fromisoformat(start_date)
    last = date.fromisoformat(end_date) if end_date else datetime.now(UTC).date()
    span = Span(first, last, repull_days, datetime.now(UTC))
    return (
        fitbit__sleep(client, span),
        fitbit__daily_activity(client, span),
        fitbit__heart_rate_daily(client, span),
        fitbit__weight(client, span),
        fitbit__heart_rate_intraday(client, span),
    )


class Span:
    """The dates to walk, where each resource resumes, and the load time stamped on rows."""

    def __init__(self, first: date, last: date, repull_days: int, loaded_at: datetime):
        self.first, self.last, self.repull_days, self.loaded_at = first, last, repull_days, loaded_at

    def windows(self, max_days: int) -> Iterator[tuple[date, date]]:
        state = dlt.current.resource_state()
        resume = date.fromisoformat(state["next_date"]) - timedelta(days=self.repull_days) \
            if "next_date" in state else self.first
        start = max(self.first, resume)
        while start <= self.last:
            end = min(self.last, start + timedelta(days=max_days - 1))
            yield start, end
            state["next_date"] = (end + timedelta(days=1)).isoformat()  # this window is in the load
            start = end + timedelta(days=1)


# the export loads these tables as Arrow (no dlt row columns): the API path matches it, so both
# pipelines can merge into the same tables
_LOADED_AT = ("loaded_at", pa.timestamp("us", tz="UTC"))
_SCHEMAS = {
    "activity": pa.schema([("activity_date", pa.date32()), ("steps", pa.int64()), ("origin", pa.string()),
                           _LOADED_AT]),
    "heart_rate_daily": pa.schema([("heart_rate_date", pa.date32()), ("resting_heart_rate", pa.float64()),
                                   ("origin", pa.string()), _LOADED_AT]),
    "weight": pa.schema([("log_id", pa.int64()), ("weight_date", pa.date32()), ("measured_at", pa.timestamp("us")),
                         ("weight_kg", pa.float64()), ("bmi", pa.float64()), ("fat_pct", pa.float64()),
                         ("log_source", pa.string()), ("origin", pa.string()), _LOADED_AT]),
}


_KEYS = {"activity": "activity_date", "heart_rate_daily": "heart_rate_date", "weight": "log_id"}


def _arrow(rows: list[dict], kind: str) -> pa.Table:
    return keys_not_null(pa.Table.from_pylist(rows, schema=_SCHEMAS[kind]), _KEYS[kind])


def _stopped(client: FitbitClient, resource: str) -> None:
    report_budget_stop(client.budget.used, resource)


@dlt.resource(primary_key="log_id", write_disposition="merge",
              columns={"start_time": dict(LOCAL_TS), "end_time": dict(LOCAL_TS),
                       **{f"{lv}_minutes": {"data_type": "bigint"} for lv in STAGE_LEVELS}})
def fitbit__sleep(client: FitbitClient, span: Span) -> Iterator[list[dict]]:
    """Sleep logs from /1.2/ sleep/list (afterDate, sort=asc), following pagination.next to the end."""
    state = dlt.current.resource_state()
    after = max(span.first, date.fromisoformat(state.get("next_date", span.first.isoformat()))
                - timedelta(days=span.repull_days))
    path, params = "/1.2/user/-/sleep/list.json", {"afterDate": after.isoformat(), "sort": "asc", "limit": 100}
    try:
        while path:
            page = client.get(path, params)
            logs = [log for log in page["sleep"] if log["dateOfSleep"] <= span.last.isoformat()]
            if logs:
                yield [{**sleep_row(log, origin="api"), "loaded_at": span.loaded_at} for log in logs]
                state["next_date"] = logs[-1]["dateOfSleep"]
            path, params = page["pagination"]["next"] or None, None
    except BudgetSpent:
        _stopped(client, "fitbit__sleep")


@dlt.resource(primary_key="activity_date", write_disposition="merge")
def fitbit__daily_activity(client: FitbitClient, span: Span) -> Iterator[pa.Table]:
    """Daily steps (the API sends strings) in windows of up to 1095 days."""
    try:
        for start, end in span.windows(1095):
            body = client.get(f"/1/user/-/activities/steps/date/{start}/{end}.json")
            yield _arrow([{"activity_date": date.fromisoformat(r["dateTime"]), "steps": int(r["value"]),
                           "origin": "api", "loaded_at": span.loaded_at} for r in body["activities-steps"]], "activity")
    except BudgetSpent:
        _stopped(client, "fitbit__daily_activity")


@dlt.resource(primary_key="heart_rate_date", write_disposition="merge")
def fitbit__heart_rate_daily(client: FitbitClient, span: Span) -> Iterator[pa.Table]:
    """Resting heart rate per day (absent on days without enough data) in windows of up to a year."""
    try:
        for start, end in span.windows(366):
            body = client.get(f"/1/user/-/activities/heart/date/{start}/{end}.json")
            yield _arrow([{"heart_rate_date": date.fromisoformat(r["dateTime"]),
                           "resting_heart_rate": float(r["value"]["restingHeartRate"]), "origin": "api",
                           "loaded_at": span.loaded_at}
                          for r in body["activities-heart"] if "restingHeartRate" in r["value"]], "heart_rate_daily")
    except BudgetSpent:
        _stopped(client, "fitbit__heart_rate_daily")


@dlt.resource(primary_key="log_id", write_disposition="merge", columns={"measured_at": dict(LOCAL_TS)})
def fitbit__weight(client: FitbitClient, span: Span) -> Iterator[pa.Table]:
    """Weigh-ins in windows of 31 days (the endpoint's limit)."""
    try:
        for start, end in span.windows(31):
            body = client.get(f"/1/user/-/body/log/weight/date/{start}/{end}.json")
            yield _arrow([{"log_id": w["logId"], "weight_date": date.fromisoformat(w["date"]),
                           "measured_at": datetime.fromisoformat(f"{w['date']}T{w['time']}"),
                           "weight_kg": w["weight"], "bmi": w.get("bmi"), "fat_pct": w.get("fat"),
                           "log_source": w.get("source"), "origin": "api", "loaded_at": span.loaded_at}
                          for w in body["weight"]], "weight")
    except BudgetSpent:
        _stopped(client, "fitbit__weight")


@dlt.resource(merge_key="measured_date", write_disposition={"disposition": "merge", "strategy": "delete-insert"},
              columns={"measured_at": {**LOCAL_TS, "unique": True, "nullable": False}})
def fitbit__heart_rate_intraday(client: FitbitClient, span: Span) -> Iterator[pa.Table]:
    """Per-second heart rate, one request per day (the budget's big spender), as Arrow tables."""
    try:
        for day, _ in span.windows(1):
            body = client.get(f"/1/user/-/activities/heart/date/{day}/1d/1sec.json")
            dataset = body["activities-heart-intraday"]["dataset"]
            if not dataset:
                continue
            midnight = datetime.combine(day, datetime.min.time())
            times = [midnight + timedelta(hours=int(s["time"][:2]), minutes=int(s["time"][3:5]),
                                          seconds=int(s["time"][6:8])) for s in dataset]
            yield keys_not_null(pa.table({"measured_at": pa.array(times, pa.timestamp("us")),
                                          "measured_date": pa.array([day] * len(times), pa.date32()),
                                          "bpm": pa.array([s["value"] for s in dataset], pa.int16()),
                                          "confidence": pa.nulls(len(times), pa.int8())}),
                                "measured_at", "measured_date")
    except BudgetSpent:
        _stopped(client, "fitbit__heart_rate_intraday")


"""Shapes Fitbit sleep logs into raw rows: `sleep_row` (the legacy row shared by the Web API and the old export
import) and `export_sleep_row` (raw.fitbit_export__sleep, with UTC and local times)."""

from __future__ import annotations

from datetime import datetime

# stages sleep reports deep/light/rem/wake; classic (short or low-signal) sleep reports asleep/restless/awake
STAGE_LEVELS = ("deep", "light", "rem", "wake", "asleep", "restless", "awake")


def _ts(value: str) -> datetime:
    """Fitbit's local wall-clock time ('2025-01-02T03:48:30.000'), kept without a zone as Fitbit gives it."""
    return datetime.fromisoformat(value[:19])


def sleep_row(log: dict, origin: str) -> dict:
    """One flat fitbit__sleep row from a sleep log (the API says isMainSleep, the export mainSleep)."""
    summary = (log.get("levels") or {}).get("summary") or {}
    row = {
        "log_id": int(log["logId"]),
        "date_of_sleep": datetime.fromisoformat(log["dateOfSleep"]).date(),
        "start_time": _ts(log["startTime"]),
        "end_time": _ts(log["endTime"]),
        "sleep_type": log.get("type", "classic"),
        "is_main_sleep": bool(log.get("isMainSleep", log.get("mainSleep", False))),
        "duration_ms": int(log["duration"]),
        "time_in_bed": int(log["timeInBed"]),
        "minutes_asleep": int(log["minutesAsleep"]),
        "minutes_awake": int(log["minutesAwake"]),
        "minutes_to_fall_asleep": int(log.get("minutesToFallAsleep") or 0),
        "minutes_after_wakeup": int(log.get("minutesAfterWakeup") or 0),
        "efficiency": int(log["efficiency"]),
        "info_code": log.get("infoCode"),
        "origin": origin,
    }
    for level in STAGE_LEVELS:
        minutes = (summary.get(level) or {}).get("minutes")
        row[f"{level}_minutes"] = int(minutes) if minutes is not None else None
    return row


def keys_not_null(table, *keys: str):
    """Mark key columns non-nullable in an Arrow table, as dlt's key hints are (silences a hint-mismatch warning)."""
    schema = table.schema
    for key in keys:
        i = schema.get_field_index(key)
        schema = schema.set(i, schema.field(i).with_nullable(False))
    return table.cast(schema)


def export_sleep_row(log: dict, local_to_utc) -> dict:
    """One raw.fitbit_export__sleep row from a sleep log of the export's JSON layout.

    The export writes start and end as local wall time (`2024-03-20T22:04:00.000`) and dateOfSleep as the local
    wake-up date; `local_to_utc(naive datetime) -> (aware UTC datetime, offset minutes)` derives the instants.
    """
    if not isinstance(log, dict):
        raise TypeError("sleep log is not a JSON object")
    start, end = _ts(log["startTime"]), _ts(log["endTime"])
    start_utc, offset = local_to_utc(start)
    end_utc, _ = local_to_utc(end)
    summary = (log.get("levels") or {}).get("summary") or {}
    sleep_type = log.get("type", "classic")
    if sleep_type not in ("stages", "classic"):
        raise ValueError(f"unknown sleep type {sleep_type!r}")
    row = {
        "sleep_id": str(int(log["logId"])),
        "log_id": int(log["logId"]),
        "start_at_utc": start_utc,
        "end_at_utc": end_utc,
        "start_at_local": start,
        "end_at_local": end,
        "utc_offset_minutes": offset,
        "sleep_date": datetime.fromisoformat(log["dateOfSleep"]).date(),
        "sleep_type": sleep_type,
        "log_type": log.get("logType"),
        "is_main_sleep": bool(log.get("mainSleep", log.get("isMainSleep", False))),
        "minutes_asleep": int(log["minutesAsleep"]),
        "minutes_awake": int(log["minutesAwake"]),
        "minutes_in_bed": int(log["timeInBed"]),
        "minutes_to_fall_asleep": int(log.get("minutesToFallAsleep") or 0),
        "minutes_after_wakeup": int(log.get("minutesAfterWakeup") or 0),
        "efficiency": int(log["efficiency"]) if log.get("efficiency") is not None else None,
        "duration_ms": int(log["duration"]),
        "derived_time": "utc",
    }
    for level in STAGE_LEVELS:
        minutes = (summary.get(level) or {}).get("minutes")
        row[f"{level}_minutes"] = int(minutes) if minutes is not None else None
    return row

"""Parses export files into Arrow tables, one reader per kind, both layouts (JSON and CSV).

The big kinds (heart rate, steps: millions of samples) are read by DuckDB straight into Arrow and shifted
between UTC and local time as whole numpy columns (never a dict per sample). The small kinds (sleep, weight,
daily metrics: a few rows a day) are read record by record, so one bad record is rejected with its reason
while the rest of its file loads. Every row carries its file (`source_file`) and the file's hash (`file_hash`).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fitbit.export.files import ExportFile
from pipelines.fitbit.export.profile import Profile, Setting, ZoneClock, unit_from_bmi
from pipelines.fitbit.records import export_sleep_row

JSON_TS = "%m/%d/%y %H:%M:%S"
CSV_UTC_FORMATS = ["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"]
UTC_TS = pa.timestamp("us", tz="UTC")
LOCAL_TS = pa.timestamp("us")

_LINEAGE = [("source_file", pa.string()), ("file_hash", pa.string())]
SCHEMAS: dict[str, pa.Schema] = {
    "heart_rate": pa.schema([("sample_at_utc", UTC_TS), ("sample_at_local", LOCAL_TS), ("utc_offset_minutes", pa.int16()),
                             ("sample_date", pa.date32()), ("bpm", pa.int16()), ("confidence", pa.int8()), ("data_source", pa.string()),
                             *_LINEAGE]),
    "steps": pa.schema([("start_at_utc", UTC_TS), ("end_at_utc", UTC_TS), ("start_at_local", LOCAL_TS),
                        ("utc_offset_minutes", pa.int16()), ("activity_date", pa.date32()), ("steps", pa.int32()),
                        ("data_source", pa.string()), *_LINEAGE]),
    "sleep": pa.schema([("sleep_id", pa.string()), ("log_id", pa.int64()), ("start_at_utc", UTC_TS),
                        ("end_at_utc", UTC_TS), ("start_at_local", LOCAL_TS), ("end_at_local", LOCAL_TS),
                        ("utc_offset_minutes", pa.int16()), ("sleep_date", pa.date32()), ("sleep_type", pa.string()),
                        ("log_type", pa.string()), ("is_main_sleep", pa.bool_()), ("minutes_asleep", pa.int32()),
                        ("minutes_awake", pa.int32()), ("minutes_in_bed", pa.int32()),
                        ("minutes_to_fall_asleep", pa.int32()), ("minutes_after_wakeup", pa.int32()),
                        ("efficiency", pa.int32()), ("duration_ms", pa.int64()),
                        *[(f"{lv}_minutes", pa.int32()) for lv in ("deep", "light", "rem", "wake", "asleep",
                                                                   "restless", "awake")],
                        ("derived_time", pa.string()), *_LINEAGE]),
    "sleep_stages": pa.schema([("sleep_id", pa.string()), ("stage", pa.string()), ("start_at_utc", UTC_TS),
                               ("end_at_utc", UTC_TS), ("seconds", pa.int32()), *_LINEAGE]),
    "sleep_score": pa.schema([("sleep_log_id", pa.int64()), ("scored_at_utc", UTC_TS), ("overall_score", pa.float64()),
                              ("composition_score", pa.float64()), ("revitalization_score", pa.float64()),
                              ("duration_score", pa.float64()), ("deep_sleep_minutes", pa.float64()),
                              ("resting_heart_rate", pa.float64()), ("restlessness", pa.float64()), *_LINEAGE]),
    "weight": pa.schema([("measured_at_utc", UTC_TS), ("measured_at_local", LOCAL_TS), ("utc_offset_minutes", pa.int16()),
                         ("measured_date", pa.date32()), ("weight_value", pa.float64()), ("weight_unit", pa.string()),
                         ("weight_unit_source", pa.string()), ("bmi", pa.float64()), ("body_fat_percent", pa.float64()),
                         ("log_id", pa.int64()), ("log_source", pa.string()), ("derived_time", pa.string()),
                         *_LINEAGE]),
    "resting_heart_rate": pa.schema([("metric_date", pa.date32()), ("resting_bpm", pa.float64()),
                                     ("error_bpm", pa.float64()), *_LINEAGE]),
    "hrv": pa.schema([("metric_date", pa.date32()), ("rmssd_ms", pa.float64()), ("nrem_heart_rate_bpm", pa.float64()),
                      ("entropy", pa.float64()), *_LINEAGE]),
    "spo2": pa.schema([("metric_date", pa.date32()), ("spo2_avg_percent", pa.float64()),
                       ("spo2_lower_percent", pa.float64()), ("spo2_upper_percent", pa.float64()), *_LINEAGE]),
    # energy burned per minute (kcal, BMR included), both layouts
    "calories": pa.schema([("start_at_utc", UTC_TS), ("end_at_utc", UTC_TS), ("start_at_local", LOCAL_TS),
                           ("utc_offset_minutes", pa.int16()), ("activity_date", pa.date32()),
                           ("calories_kcal", pa.float64()), ("data_source", pa.string()), *_LINEAGE]),
    # JSON: a day's total per level (start_at_* null: the file holds local dates); CSV: one row per active minute
    "active_minutes": pa.schema([("activity_date", pa.date32()), ("level", pa.string()), ("minutes", pa.int32()),
                                 ("start_at_utc", UTC_TS), ("start_at_local", LOCAL_TS),
                                 ("utc_offset_minutes", pa.int16()), *_LINEAGE]),
    # distance as the file gives it (value + unit; the JSON layout's unit is `distanceUnit`, the CSV's is mm)
    "exercise": pa.schema([("exercise_id", pa.string()), ("start_at_utc", UTC_TS), ("end_at_utc", UTC_TS),
                           ("start_at_local", LOCAL_TS), ("end_at_local", LOCAL_TS), ("utc_offset_minutes", pa.int16()),
                           ("activity_date", pa.date32()), ("activity_name", pa.string()),
                           ("activity_type_id", pa.int64()), ("log_type", pa.string()), ("duration_ms", pa.int64()),
                           ("active_duration_ms", pa.int64()), ("calories_kcal", pa.float64()),
                           ("distance_value", pa.float64()), ("distance_unit", pa.string()), ("steps", pa.int64()),
                           ("average_heart_rate_bpm", pa.int32()), ("derived_time", pa.string()), *_LINEAGE]),
}
# the JSON layout's active-minutes kinds -> the level their values count
ACTIVE_LEVELS = {"very_active_minutes": "very", "moderately_active_minutes": "moderate",
                 "lightly_active_minutes": "light", "sedentary_minutes": "sedentary"}
# distance units of exercise logs (the account's distance unit), metres per unit
DISTANCE_UNITS_M = {"kilometer": 1000.0, "km": 1000.0, "mile": 1609.344, "mi": 1609.344, "meter": 1.0, "m": 1.0,
                    "mm": 0.001}


@dataclass
class Outcome:
    """What became of one file: rows loaded, records rejected or left out as 'no data', or why it is corrupt."""

    file: ExportFile
    rows: int = 0
    rejected: int = 0
    no_data: int = 0  # records that say "no measurement" (resting HR 0, minutes without steps): not data, not bad
    error: str | None = None


@dataclass
class Reject:
    reason: str
    payload: object
    key: str | None
    origin: str


@dataclass
class ReadResult:
    table: pa.Table | None = None
    rejects: list[Reject] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)


@dataclass
class ReadContext:
    clock: ZoneClock
    json_intraday_stamps: str  # "utc" (most published analyses) or "local"
    weight_unit: Setting
    profile: Profile | None


# ----------------------------------------------------------------------------------------------- big kinds --

def read_intraday(kind: str, files: list[ExportFile], paths: dict[str, str], ctx: ReadContext) -> ReadResult:
    """Heart rate or steps, both layouts, into one Arrow table (per-file outcomes, rejected records)."""
    result = ReadResult()
    tables = []
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        for layout in ("json", "csv"):
            group = [f for f in files if f.layout == layout]
            if group:
                tables.extend(_read_group(con, kind, layout, group, paths, ctx, result))
    finally:
        con.close()
    tables = [t for t in tables if t.num_rows]
    result.table = pa.concat_tables(tables) if tables else None
    return result


def _read_group(con, kind, layout, files, paths, ctx, result) -> list[pa.Table]:
    """One DuckDB scan of all files (fast path); on failure, file by file: strict, then lenient (bad records
    rejected one by one), and a file that cannot be read at all is corrupt."""
    try:
        return [_shape(kind, layout, _scan(con, kind, layout, [paths[f.source_file] for f in files], strict=True),
                       files, ctx, result)]
    except duckdb.Error:
        pass
    out = []
    for f in files:
        raw = None
        for strict in (True, False):
            try:
                raw = _scan(con, kind, layout, [paths[f.source_file]], strict=strict)
                break
            except duckdb.Error as exc:
                error = _first_line(exc)
        if raw is None:
            result.outcomes.append(Outcome(f, error=error))
            continue
        out.append(_shape(kind, layout, raw, [f], ctx, result))
    return out


def _scan(con, kind: str, layout: str, paths: list[str], strict: bool) -> pa.Table:
    """Raw columns: stamp (timestamp), value (double), confidence, data_source (the CSV layout's recorder, null in
    the JSON layout), file (the position of the row's file in `paths`, from 0: a small integer, not a string per
    sample), and the text of each record when not strict (to reject bad records with their payload)."""
    listing = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
    file_id = f"cast(list_position({listing}, filename) - 1 as integer) as file"
    if layout == "json":
        if strict:
            # steps values are strings ("15"): cast here, so a non-number fails the strict read
            value = ("STRUCT(bpm DOUBLE, confidence INTEGER)" if kind == "heart_rate" else "VARCHAR")
            columns = f"{{'dateTime': 'TIMESTAMP', 'value': '{value}'}}"
            fields = ('"value".bpm as value, "value".confidence as confidence' if kind == "heart_rate"
                      else 'cast("value" as double) as value, null::integer as confidence')
            sql = f"""select "dateTime" as stamp, {fields}, null::varchar as data_source, {file_id}
                      from read_json({listing}, format = 'array', columns = {columns},
                                     timestampformat = '{JSON_TS}', filename = true)"""
        else:
            value = ("try_cast(json_extract_string(\"value\", '$.bpm') as double)" if kind == "heart_rate"
                     else "try_cast(json_extract_string(\"value\", '$') as double)")
            confidence = ("try_cast(json_extract_string(\"value\", '$.confidence') as integer)"
                          if kind == "heart_rate" else "null::integer")
            sql = f"""select try_strptime("dateTime", '{JSON_TS}') as stamp, {value} as value,
                             {confidence} as confidence, null::varchar as data_source, {file_id},
                             "dateTime" as stamp_text, cast("value" as varchar) as value_text
                      from read_json({listing}, format = 'array',
                                     columns = {{'dateTime': 'VARCHAR', 'value': 'JSON'}}, filename = true)"""
    else:
        column = {"heart_rate": "beats_per_minute", "steps": "steps", "calories": "calories"}[kind]
        formats = "[" + ", ".join(f"'{f}'" for f in CSV_UTC_FORMATS) + "]"
        text = ', "timestamp" as stamp_text, ' + column + " as value_text" if not strict else ""
        cast = "cast" if strict else "try_cast"
        stamp = (f"strptime(\"timestamp\", {formats})" if strict else f"try_strptime(\"timestamp\", {formats})")
        # `data source` names the recorder (a watch, the phone): several can interleave in one file. Older
        # headers lack the column: the empty union adds it as null
        sql = f"""select {stamp} as stamp, {cast}({column} as double) as value, null::integer as confidence,
                         nullif(trim(data_source), '') as data_source, {file_id}{text}
                  from (select * from read_csv({listing}, header = true, all_varchar = true, filename = true,
                                               union_by_name = true, normalize_names = true)
                        union all by name select null::varchar as data_source where false)"""
    return con.sql(sql).to_arrow_table()


def _shape(kind, layout, raw: pa.Table, files, ctx, result) -> pa.Table:
    """Good records to the raw table's shape (times both ways, lineage as dictionary columns); bad ones
    rejected; per-file counts. Columnar throughout: the file of each row is a small integer."""
    index = raw["file"].combine_chunks().to_numpy(zero_copy_only=False) if raw.num_rows \
        else np.zeros(0, dtype=np.int32)
    file_of = list(files)
    value, stamp = raw["value"], raw["stamp"]
    ok = pc.and_(pc.is_valid(stamp), pc.is_valid(value))
    if kind == "heart_rate":
        ok = pc.and_(ok, pc.greater(pc.fill_null(value, 0), 0))  # 0 is no heart rate
        no_data = np.zeros(len(raw), dtype=bool)
    elif kind == "calories":  # every minute burns energy (BMR): 0 is a value, negative is not
        ok = pc.and_(ok, pc.greater_equal(pc.fill_null(value, -1), 0))
        no_data = np.zeros(len(raw), dtype=bool)
    else:
        ok = pc.and_(ok, pc.greater_equal(pc.fill_null(value, -1), 0))
        no_data = pc.and_(ok, pc.equal(pc.fill_null(value, -1), 0)).to_numpy()  # a minute without steps
    ok = pc.fill_null(ok, False).to_numpy()
    if not ok.all():
        bad = raw.filter(pa.array(~ok)).to_pylist()
        for row in bad:
            f = file_of[row["file"]]
            payload = ({"dateTime": row.get("stamp_text"), "value": row.get("value_text")} if "stamp_text" in row
                       else {"stamp": str(row["stamp"]), "value": row["value"]})
            reason = ("unparseable timestamp" if row["stamp"] is None else
                      "heart rate absent or 0" if kind == "heart_rate" else f"{kind} absent or negative")
            result.rejects.append(Reject(reason, payload, row.get("stamp_text") or str(row["stamp"]), f.source_file))
    n = len(file_of)
    totals = np.bincount(index, minlength=n)
    goods = np.bincount(index, weights=ok, minlength=n).astype(int)
    empties = np.bincount(index, weights=no_data, minlength=n).astype(int)
    for i, f in enumerate(file_of):
        result.outcomes.append(Outcome(f, rows=int(goods[i] - empties[i]), rejected=int(totals[i] - goods[i]),
                                       no_data=int(empties[i])))
    keep = ok & ~no_data
    index = index[keep]
    stamps = raw["stamp"].combine_chunks() if raw.num_rows else pa.array([], LOCAL_TS)
    us = stamps.cast(pa.int64()).to_numpy(zero_copy_only=False)[keep]
    values = value.combine_chunks().to_numpy(zero_copy_only=False)[keep] if raw.num_rows else np.zeros(0)
    if layout == "csv" or ctx.json_intraday_stamps == "utc":
        utc_us, (local_us, offsets) = us, ctx.clock.utc_to_local(us)
    else:
        local_us, (utc_us, offsets) = us, ctx.clock.local_to_utc(us)
    utc = pa.array(utc_us, pa.int64()).view(UTC_TS)
    local = pa.array(local_us, pa.int64()).view(LOCAL_TS)
    indices = pa.array(index.astype(np.int32))
    lineage = {"source_file": pa.DictionaryArray.from_arrays(indices, pa.array([f.source_file for f in file_of],
                                                                                pa.string())),
               "file_hash": pa.DictionaryArray.from_arrays(indices, pa.array([f.content_hash for f in file_of],
                                                                              pa.string()))}
    day = pc.cast(local, pa.date32())
    rounded = np.rint(values)
    recorder = (raw["data_source"].combine_chunks().filter(pa.array(keep)) if raw.num_rows
                else pa.array([], pa.string())).cast(pa.string()).dictionary_encode()
    if kind == "heart_rate":
        confidence = raw["confidence"].combine_chunks().filter(pa.array(keep)) if raw.num_rows \
            else pa.array([], pa.int32())
        columns = {"sample_at_utc": utc, "sample_at_local": local,
                   "utc_offset_minutes": pa.array(offsets.astype(np.int16)), "sample_date": day,
                   "bpm": pa.array(rounded.astype(np.int16)), "confidence": pc.cast(confidence, pa.int8())}
    else:
        end = pa.array(utc_us + 60_000_000, pa.int64()).view(UTC_TS)
        columns = {"start_at_utc": utc, "end_at_utc": end, "start_at_local": local,
                   "utc_offset_minutes": pa.array(offsets.astype(np.int16)), "activity_date": day}
        if kind == "calories":
            columns["calories_kcal"] = pa.array(values.astype(np.float64))
        else:
            columns["steps"] = pa.array(rounded.astype(np.int32))
    return pa.table({**columns, "data_source": recorder, **lineage})


# ------------------------------------------------------------------------------------------ active minutes --

def read_active_minutes(files: list[ExportFile], paths: dict[str, str], ctx: ReadContext) -> ReadResult:
    """JSON: `<level>_minutes-*.json`, a day's total per file's level (local dates, record by record). CSV:
    `active_minutes_*.csv`, one row per minute with 0/1 under light, moderate, very: read by DuckDB and unpivoted
    into one row per (minute, level) with its minutes, columnar (never a dict per minute)."""
    result = read_records("active_minutes", [f for f in files if f.layout == "json"], paths, ctx)
    tables = [result.table] if result.table is not None else []
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        for f in (f for f in files if f.layout == "csv"):
            try:
                tables.append(_active_minutes_csv(con, f, paths[f.source_file], ctx, result))
            except (duckdb.Error, ValueError) as exc:
                result.outcomes.append(Outcome(f, error=_first_line(exc)))
    finally:
        con.close()
    tables = [t for t in tables if t.num_rows]
    result.table = pa.concat_tables(tables) if tables else None
    return result


def _active_minutes_csv(con, f: ExportFile, path: str, ctx: ReadContext, result: ReadResult) -> pa.Table:
    header = [c.strip().lower() for c in con.sql(
        f"select * from read_csv('{path.replace(chr(39), chr(39) * 2)}', header = true, all_varchar = true) limit 0"
    ).columns]
    missing = [c for c in ("timestamp", "light", "moderate", "very") if c not in header]
    if missing:
        raise ValueError(f"CSV header lacks {', '.join(repr(m) for m in missing)} (has: {', '.join(header)})")
    formats = "[" + ", ".join(f"'{fmt}'" for fmt in CSV_UTC_FORMATS) + "]"
    raw = con.sql(f"""
        select try_strptime("timestamp", {formats}) as stamp, "timestamp" as stamp_text,
               try_cast(light as double) as light, try_cast(moderate as double) as moderate,
               try_cast(very as double) as very
        from read_csv('{path.replace("'", "''")}', header = true, all_varchar = true, normalize_names = true)
    """).to_arrow_table()
    ok = pc.fill_null(pc.and_(pc.and_(pc.is_valid(raw["stamp"]), pc.is_valid(raw["light"])),
                              pc.and_(pc.is_valid(raw["moderate"]), pc.is_valid(raw["very"]))), False)
    ok_np = ok.to_numpy(zero_copy_only=False)
    for row in raw.filter(pc.invert(ok)).to_pylist():
        result.rejects.append(Reject("active minute without a parseable timestamp or level counts",
                                     {k: (str(v) if v is not None else None) for k, v in row.items()},
                                     row.get("stamp_text"), f.source_file))
    good = raw.filter(ok)
    stamps = good["stamp"].combine_chunks().cast(pa.int64()).to_numpy(zero_copy_only=False)
    local_us, offsets = ctx.clock.utc_to_local(stamps)
    parts = []
    rows = 0
    any_level = np.zeros(good.num_rows, dtype=bool)
    for level in ("light", "moderate", "very"):
        minutes = np.rint(good[level].combine_chunks().to_numpy(zero_copy_only=False)).astype(np.int32)
        keep = minutes > 0
        any_level |= keep
        rows += int(keep.sum())
        local = pa.array(local_us[keep], pa.int64()).view(LOCAL_TS)
        parts.append(pa.table({
            "activity_date": pc.cast(local, pa.date32()), "level": pa.array([level] * int(keep.sum()), pa.string()),
            "minutes": pa.array(minutes[keep]), "start_at_utc": pa.array(stamps[keep], pa.int64()).view(UTC_TS),
            "start_at_local": local, "utc_offset_minutes": pa.array(offsets[keep].astype(np.int16)),
            "source_file": pa.array([f.source_file] * int(keep.sum()), pa.string()),
            "file_hash": pa.array([f.content_hash] * int(keep.sum()), pa.string())}, schema=SCHEMAS["active_minutes"]))
    # a minute with 0 under every level is a sedentary (or unworn) minute: not an active minute, not bad
    result.outcomes.append(Outcome(f, rows=rows, rejected=int((~ok_np).sum()), no_data=int((~any_level).sum())))
    return pa.concat_tables(parts)


# --------------------------------------------------------------------------------------------- small kinds --

def read_records(kind: str, files: list[ExportFile], paths: dict[str, str], ctx: ReadContext) -> ReadResult:
    """Sleep, weight and the daily metrics: record by record, each file on its own."""
    result = ReadResult()
    rows: list[dict] = []
    for f in files:
        reader = _RECORD_READERS[(kind, f.layout)]
        outcome = Outcome(f)
        try:
            records = list(reader(Path(paths[f.source_file]).read_bytes(), f, ctx))
        except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError, csv.Error) as exc:
            outcome.error = f"{type(exc).__name__}: {_first_line(exc)}"
            result.outcomes.append(outcome)
            continue
        for item in records:
            if isinstance(item, Reject):
                outcome.rejected += 1
                result.rejects.append(item)
            elif item is None:
                outcome.no_data += 1
            else:
                rows.append({**item, "source_file": f.source_file, "file_hash": f.content_hash})
                outcome.rows += 1
        result.outcomes.append(outcome)
    if rows:
        result.table = pa.Table.from_pylist(rows, schema=SCHEMAS[kind])
    return result


def _json_list(data: bytes) -> list:
    records = json.loads(data)
    if not isinstance(records, list):
        raise ValueError("expected a JSON array of records")
    return records


def _csv_rows(data: bytes, required: tuple[str, ...]) -> list[dict]:
    """Rows keyed by header name (lower case, trimmed); a file without a required column is not this kind."""
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise ValueError(f"CSV header lacks {', '.join(repr(m) for m in missing)} (has: {', '.join(header)})")
    return [{(k or "").strip().lower(): (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
            for row in reader]


def _float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _int(value) -> int | None:
    number = _float(value)
    return None if number is None else int(round(number))


def _utc_stamp(text: str | None) -> datetime | None:
    """An ISO stamp with a zone (`2024-10-27T00:00:04Z`, `2025-12-03 21:12:30+0000`) as a UTC datetime."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def _offset_minutes(text: str | None) -> int | None:
    """'+10:00', '-0700', '+00:00' -> minutes."""
    if not text:
        return None
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-").replace(":", "")
    if not digits.isdigit() or len(digits) not in (2, 4):
        return None
    return sign * (int(digits[:2]) * 60 + (int(digits[2:]) if len(digits) == 4 else 0))


def _date_part(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "")[:10])
    except ValueError:
        return None


def _local_times(ctx: ReadContext, local: datetime) -> dict:
    at_utc, offset = ctx.clock.local_datetime_to_utc(local)
    return {"at_utc": at_utc, "at_local": local, "offset": offset}


def _utc_times(ctx: ReadContext, at_utc: datetime) -> dict:
    local, offset = ctx.clock.utc_datetime_to_local(at_utc)
    return {"at_utc": at_utc, "at_local": local, "offset": offset}


def _sleep_json(data: bytes, f: ExportFile, ctx: ReadContext):
    for log in _json_list(data):
        try:
            yield export_sleep_row(log, ctx.clock.local_datetime_to_utc)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            key = str(log.get("logId")) if isinstance(log, dict) and log.get("logId") is not None else None
            yield Reject(f"bad sleep log: {type(exc).__name__}: {_first_line(exc)}", log, key, f.source_file)


_CSV_STAGE = {"deep": "deep", "light": "light", "rem": "rem", "wake": "wake", "awake": "awake",
              "restless": "restless", "asleep": "asleep"}


def _sleep_csv(data: bytes, f: ExportFile, ctx: ReadContext):
    for row in _csv_rows(data, ("sleep_id", "sleep_start", "sleep_end")):
        start, end = _utc_stamp(row.get("sleep_start")), _utc_stamp(row.get("sleep_end"))
        if not row.get("sleep_id") or start is None or end is None or end < start:
            yield Reject("sleep without id or with unparseable start/end", row, row.get("sleep_id"), f.source_file)
            continue
        start_offset = _offset_minutes(row.get("start_utc_offset"))
        end_offset = _offset_minutes(row.get("end_utc_offset"))
        derived = "none"
        if start_offset is None or end_offset is None:  # no offsets in the file: the export's zone
            start_offset = ctx.clock.utc_datetime_to_local(start)[1]
            end_offset = ctx.clock.utc_datetime_to_local(end)[1]
            derived = "local"
        end_local = (end + timedelta(minutes=end_offset)).replace(tzinfo=None)
        sleep_type = (row.get("sleep_type") or "").lower() or None
        yield {"sleep_id": row["sleep_id"], "log_id": None, "start_at_utc": start, "end_at_utc": end,
               "start_at_local": (start + timedelta(minutes=start_offset)).replace(tzinfo=None),
               "end_at_local": end_local, "utc_offset_minutes": start_offset, "sleep_date": end_local.date(),
               "sleep_type": sleep_type if sleep_type in ("stages", "classic") else sleep_type,
               "log_type": row.get("data_source") or None, "is_main_sleep": None,
               "minutes_asleep": _int(row.get("minutes_asleep")), "minutes_awake": _int(row.get("minutes_awake")),
               "minutes_in_bed": _int(row.get("minutes_in_sleep_period")),
               "minutes_to_fall_asleep": _int(row.get("minutes_to_fall_asleep")),
               "minutes_after_wakeup": _int(row.get("minutes_after_wake_up")), "efficiency": None,
               "duration_ms": int((end - start).total_seconds() * 1000), "derived_time": derived}


def _sleep_stages_csv(data: bytes, f: ExportFile, ctx: ReadContext):
    for row in _csv_rows(data, ("sleep_id", "sleep_stage_type", "sleep_stage_start", "sleep_stage_end")):
        start, end = _utc_stamp(row.get("sleep_stage_start")), _utc_stamp(row.get("sleep_stage_end"))
        stage = _CSV_STAGE.get((row.get("sleep_stage_type") or "").lower())
        if not row.get("sleep_id") or start is None or end is None or stage is None:
            yield Reject("stage without sleep id, known stage type or parseable times", row, row.get("sleep_id"),
                         f.source_file)
            continue
        yield {"sleep_id": row["sleep_id"], "stage": stage, "start_at_utc": start, "end_at_utc": end,
               "seconds": int((end - start).total_seconds())}


def _sleep_score_csv(data: bytes, f: ExportFile, ctx: ReadContext):
    for row in _csv_rows(data, ("sleep_log_entry_id", "timestamp", "overall_score")):
        log_id, at = _int(row.get("sleep_log_entry_id")), _utc_stamp(row.get("timestamp"))
        if log_id is None or at is None:
            yield Reject("score without sleep_log_entry_id or timestamp", row, row.get("sleep_log_entry_id"),
                         f.source_file)
            continue
        yield {"sleep_log_id": log_id, "scored_at_utc": at,
               **{c: _float(row.get(c)) for c in ("overall_score", "composition_score", "revitalization_score",
                                                  "duration_score", "resting_heart_rate", "restlessness")},
               "deep_sleep_minutes": _float(row.get("deep_sleep_in_minutes"))}


def _weight_json(data: bytes, f: ExportFile, ctx: ReadContext):
    for w in _json_list(data):
        if not isinstance(w, dict):
            yield Reject("weigh-in is not a JSON object", w, None, f.source_file)
            continue
        log_id = w.get("logId")
        if log_id is None or _int(log_id) is None:
            yield Reject("weigh-in without logId", w, None, f.source_file)
            continue
        try:
            local = datetime.strptime(f"{w['date']} {w.get('time') or '00:00:00'}", JSON_TS)
        except (KeyError, TypeError, ValueError):
            yield Reject("weigh-in without a parseable date and time", w, str(log_id), f.source_file)
            continue
        value, bmi = _float(w.get("weight")), _float(w.get("bmi"))
        if value is None or value <= 0:
            yield Reject("weigh-in without a weight", w, str(log_id), f.source_file)
            continue
        unit, unit_source = ctx.weight_unit.value, ctx.weight_unit.source
        if unit is None:
            unit = unit_from_bmi(value, bmi, ctx.profile.height_m if ctx.profile else None)
            unit_source = "bmi"
        if unit is None:
            yield Reject("weight unit unknown: no unit in the profile or configuration and the BMI does not tell "
                         "(set sources.fitbit_export.weight_unit)", w, str(log_id), f.source_file)
            continue
        t = _local_times(ctx, local)
        yield {"measured_at_utc": t["at_utc"], "measured_at_local": local, "utc_offset_minutes": t["offset"],
               "measured_date": local.date(), "weight_value": value, "weight_unit": unit,
               "weight_unit_source": unit_source, "bmi": bmi, "body_fat_percent": _float(w.get("fat")),
               "log_id": _int(log_id), "log_source": w.get("source"), "derived_time": "utc"}


def _weight_csv(data: bytes, f: ExportFile, ctx: ReadContext):
    for row in _csv_rows(data, ("timestamp", "weight grams")):
        at, grams = _utc_stamp(row.get("timestamp")), _float(row.get("weight grams"))
        if at is None or grams is None or grams <= 0:
            yield Reject("weigh-in without a parseable timestamp or weight", row, row.get("timestamp"), f.source_file)
            continue
        t = _utc_times(ctx, at)
        yield {"measured_at_utc": at, "measured_at_local": t["at_local"], "utc_offset_minutes": t["offset"],
               "measured_date": t["at_local"].date(), "weight_value": grams, "weight_unit": "g",
               "weight_unit_source": "csv header (weight grams)", "bmi": None, "body_fat_percent": None,
               "log_id": None, "log_source": row.get("data source") or None, "derived_time": "local"}


def _resting_json(data: bytes, f: ExportFile, ctx: ReadContext):
    for r in _json_list(data):
        value = r.get("value") if isinstance(r, dict) else None
        if not isinstance(value, dict):
            yield Reject("resting heart rate record without a value object", r, None, f.source_file)
            continue
        text = value.get("date") or (r.get("dateTime") or "")[:8]
        try:
            day = datetime.strptime(text, "%m/%d/%y").date()
        except (TypeError, ValueError):
            yield Reject("resting heart rate without a parseable date", r, None, f.source_file)
            continue
        bpm = _float(value.get("value"))
        if bpm is None:
            yield Reject("resting heart rate value absent", r, day.isoformat(), f.source_file)
        elif bpm <= 0:
            yield None  # the export's way of saying "not enough data that day": no measurement
        else:
            yield {"metric_date": day, "resting_bpm": round(bpm, 2), "error_bpm": _float(value.get("error"))}


def _resting_csv(data: bytes, f: ExportFile, ctx: ReadContext):
    for row in _csv_rows(data, ("timestamp", "beats per minute")):
        day, bpm = _date_part(row.get("timestamp")), _float(row.get("beats per minute"))
        if day is None or bpm is None:
            yield Reject("resting heart rate without a parseable date or value", row, row.get("timestamp"),
                         f.source_file)
        elif bpm <= 0:
            yield None
        else:
            yield {"metric_date": day, "resting_bpm": round(bpm, 2), "error_bpm": None}


def _hrv_csv(data: bytes, f: ExportFile, ctx: ReadContext):
    for row in _csv_rows(data, ("timestamp", "rmssd")):
        day, rmssd = _date_part(row.get("timestamp")), _float(row.get("rmssd"))
        if day is None or rmssd is None or rmssd <= 0:
            yield Reject("HRV without a parseable date or a positive rmssd", row, row.get("timestamp"), f.source_file)
            continue
        yield {"metric_date": day, "rmssd_ms": rmssd, "nrem_heart_rate_bpm": _float(row.get("nremhr")),
               "entropy": _float(row.get("entropy"))}


def _spo2_csv(data: bytes, f: ExportFile, ctx: ReadContext):
    for row in _csv_rows(data, ("timestamp", "average_value")):
        day, avg = _date_part(row.get("timestamp")), _float(row.get("average_value"))
        if day is None or avg is None or not 0 < avg <= 100:
            yield Reject("SpO2 without a parseable date or a percentage", row, row.get("timestamp"), f.source_file)
            continue
        yield {"metric_date": day, "spo2_avg_percent": avg, "spo2_lower_percent": _float(row.get("lower_bound")),
               "spo2_upper_percent": _float(row.get("upper_bound"))}


def _active_json(data: bytes, f: ExportFile, ctx: ReadContext):
    level = ACTIVE_LEVELS.get(f.name.split("-", 1)[0])
    today = datetime.now(UTC).date()
    for r in _json_list(data):
        if level is None or not isinstance(r, dict):
            yield Reject("active-minutes record is not a {dateTime, value} object of a known level", r, None,
                         f.source_file)
            continue
        try:
            day = datetime.strptime((r.get("dateTime") or "")[:8], "%m/%d/%y").date()
        except (TypeError, ValueError):
            yield Reject("active minutes without a parseable date", r, None, f.source_file)
            continue
        minutes = _float(r.get("value"))
        if minutes is None or not 0 <= minutes <= 1440:
            yield Reject("active minutes absent or outside 0-1440", r, day.isoformat(), f.source_file)
        elif day > today or (f.day is not None and day < f.day):
            # real files are padded with placeholder days (`12/31/99` with 1440 sedentary minutes, i.e. 1999, or
            # days past the export date): a day outside the file's span is not data
            yield None
        else:
            yield {"activity_date": day, "level": level, "minutes": int(round(minutes)), "start_at_utc": None,
                   "start_at_local": None, "utc_offset_minutes": None}


def _exercise_times(ctx: ReadContext, start: datetime, stamps: str) -> dict:
    if stamps == "utc":
        local, offset = ctx.clock.utc_datetime_to_local(start.replace(tzinfo=UTC))
        return {"at_utc": start.replace(tzinfo=UTC), "at_local": local, "offset": offset, "derived": "local"}
    at_utc, offset = ctx.clock.local_datetime_to_utc(start)
    return {"at_utc": at_utc, "at_local": start, "offset": offset, "derived": "utc"}


def _distance(value, unit) -> tuple[float | None, str | None, str | None]:
    """(value, unit, why it is rejected): a distance needs a known unit; no distance is fine."""
    distance = _float(value)
    if distance is None:
        return None, None, None
    unit_text = (unit or "").strip().lower()
    if unit_text not in DISTANCE_UNITS_M:
        return None, None, f"exercise distance {distance} without a known unit ({unit!r})"
    return distance, unit_text, None


def _exercise_json(data: bytes, f: ExportFile, ctx: ReadContext):
    """exercise-N.json: activity logs as the Fitbit Web API gave them. `startTime` is `MM/DD/YY HH:MM:SS` with no
    zone; it is read like the intraday stamps (json_intraday_stamps: UTC unless configured local)."""
    for log in _json_list(data):
        key = str(log.get("logId")) if isinstance(log, dict) and log.get("logId") is not None else None
        if key is None or _int(log.get("logId")) is None:
            yield Reject("exercise log without logId", log, None, f.source_file)
            continue
        try:
            start = datetime.strptime(log["startTime"], JSON_TS)
        except (KeyError, TypeError, ValueError):
            yield Reject("exercise log without a parseable startTime", log, key, f.source_file)
            continue
        duration = _int(log.get("duration"))
        if duration is None or duration < 0:
            yield Reject("exercise log without a duration (ms)", log, key, f.source_file)
            continue
        distance, unit, why = _distance(log.get("distance"), log.get("distanceUnit"))
        if why:
            yield Reject(why, log, key, f.source_file)
            continue
        t = _exercise_times(ctx, start, ctx.json_intraday_stamps)
        end_utc = t["at_utc"] + timedelta(milliseconds=duration)
        end_local = t["at_local"] + timedelta(milliseconds=duration)
        calories, heart_rate = _float(log.get("calories")), _int(log.get("averageHeartRate"))
        yield {"exercise_id": key, "start_at_utc": t["at_utc"], "end_at_utc": end_utc, "start_at_local": t["at_local"],
               "end_at_local": end_local, "utc_offset_minutes": t["offset"], "activity_date": t["at_local"].date(),
               "activity_name": log.get("activityName"), "activity_type_id": _int(log.get("activityTypeId")),
               "log_type": log.get("logType"), "duration_ms": duration,
               "active_duration_ms": _int(log.get("activeDuration")),
               "calories_kcal": calories if calories is None or calories >= 0 else None,
               "distance_value": distance, "distance_unit": unit, "steps": _int(log.get("steps")),
               "average_heart_rate_bpm": heart_rate if heart_rate else None, "derived_time": t["derived"]}


def _total(row: dict, name: str) -> float | None:
    """A UserExercises total: the tracker's, else the manually logged one (0 in both: none)."""
    tracked = _float(row.get(f"tracker_total_{name}"))
    return tracked if tracked else (_float(row.get(f"manually_logged_total_{name}")) or None)


def _exercise_csv(data: bytes, f: ExportFile, ctx: ReadContext):
    """UserExercises_*.csv: UTC start/end with the offset written out; distance in millimetres; the tracker's
    totals, else the manually logged ones."""
    for row in _csv_rows(data, ("exercise_id", "exercise_start", "exercise_end")):
        start, end = _utc_stamp(row.get("exercise_start")), _utc_stamp(row.get("exercise_end"))
        if not row.get("exercise_id") or start is None or end is None or end < start:
            yield Reject("exercise without id or with unparseable start/end", row, row.get("exercise_id"),
                         f.source_file)
            continue
        offset = _offset_minutes(row.get("utc_offset") or row.get("start_utc_offset"))
        derived = "none"
        if offset is None:
            offset, derived = ctx.clock.utc_datetime_to_local(start)[1], "local"
        local = (start + timedelta(minutes=offset)).replace(tzinfo=None)

        distance_mm, heart_rate = _total(row, "distance_mm"), _int(row.get("tracker_avg_heart_rate"))
        yield {"exercise_id": row["exercise_id"], "start_at_utc": start, "end_at_utc": end, "start_at_local": local,
               "end_at_local": local + (end - start), "utc_offset_minutes": offset, "activity_date": local.date(),
               "activity_name": row.get("activity_name") or None, "activity_type_id": None,
               "log_type": (row.get("log_type") or "").lower() or None,
               "duration_ms": int((end - start).total_seconds() * 1000), "active_duration_ms": None,
               "calories_kcal": _total(row, "calories"), "distance_value": distance_mm,
               "distance_unit": "mm" if distance_mm is not None else None, "steps": _int(_total(row, "steps")),
               "average_heart_rate_bpm": heart_rate if heart_rate else None, "derived_time": derived}


_RECORD_READERS: dict[tuple[str, str], Callable] = {
    ("active_minutes", "json"): _active_json, ("exercise", "json"): _exercise_json,
    ("exercise", "csv"): _exercise_csv,
    ("sleep", "json"): _sleep_json, ("sleep", "csv"): _sleep_csv, ("sleep_stages", "csv"): _sleep_stages_csv,
    ("sleep_score", "csv"): _sleep_score_csv, ("weight", "json"): _weight_json, ("weight", "csv"): _weight_csv,
    ("resting_heart_rate", "json"): _resting_json, ("resting_heart_rate", "csv"): _resting_csv,
    ("hrv", "csv"): _hrv_csv, ("spo2", "csv"): _spo2_csv,
}
INTRADAY = ("heart_rate", "steps", "calories")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__

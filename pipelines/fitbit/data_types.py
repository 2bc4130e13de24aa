"""The Google Health data types this pipeline loads: how each is filtered and paged, and how a page of
data points becomes one Arrow table.

A page (up to 10,000 points) is parsed from JSON once; from there every value goes column-wise into
Arrow arrays (timestamps, int64-as-string values and utcOffset durations are cast by Arrow, not per
point in Python). Heart rate alone is ~7 M points a year, so there is never a dict per sample
downstream of the page parse. A point that breaks the contract (missing member, unparsable time, a
value outside its documented range) fails the column-wise cast; the page is then split point by point
so only the bad points become rejected records and the rest of the page loads.

Time columns follow design.md: `*_at_utc` (the instant), `*_at_local` (the wall clock: the instant plus
the point's own utcOffset, never a guess), the offset in seconds as the API gave it, and `window_date`:
the date of the member the incremental filter cuts on (UTC date for physical-time filters, the civil
date for civil and daily filters), which is what a run's re-read window replaces.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.fitbit.settings import MAX_PAGE_SIZE, SESSION_PAGE_SIZE

TS_UTC = pa.timestamp("us", tz="UTC")
TS_LOCAL = pa.timestamp("us")
_MICROS = 1_000_000

# the errors a malformed point raises in the column-wise conversion
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError, pa.ArrowException)


@dataclass(frozen=True)
class DataType:
    """One Google Health data type as this pipeline reads it."""

    entity: str  # raw table fitbit__<entity>; also the rejected-record entity
    kebab: str  # the collection in the path: users/me/dataTypes/<kebab>/dataPoints
    value_key: str  # the DataPoint union member holding the value (camelCase)
    filter_member: str  # AIP-160 member the incremental window is cut on
    literal: Literal["timestamp", "date"]  # RFC 3339 instant or ISO date literal for that member
    page_size: int
    source_family: bool  # whether dataSourceFamily may be sent (the API rejects it for sleep)
    schema: pa.Schema
    convert: Callable[[list[dict]], pa.Table]
    description: str = ""

    def filter(self, since: date, until: date | None = None) -> str:
        """`>= since` (and `< until`) on this type's member, e.g. `steps.interval.start_time >= "2026-11-24T00:00:00Z"`."""
        expression = f'{self.filter_member} >= "{self._literal(since)}"'
        if until is not None:
            expression += f' AND {self.filter_member} < "{self._literal(until)}"'
        return expression

    def _literal(self, day: date) -> str:
        return f"{day.isoformat()}T00:00:00Z" if self.literal == "timestamp" else day.isoformat()

    @property
    def origin(self) -> str:
        return f"GET /v4/users/me/dataTypes/{self.kebab}/dataPoints:reconcile"

    def to_arrow(self, points: list[dict]) -> tuple[pa.Table, list[tuple[dict, str]]]:
        """(the page as one Arrow table, [(point, reason) for each point that breaks the contract])."""
        try:
            return self.convert(points), []
        except MALFORMED:
            pass
        good, bad = [], []
        for point in points:
            try:
                self.convert([point])
                good.append(point)
            except MALFORMED as exc:
                bad.append((point, _reason(self, exc)))
        return (self.convert(good) if good else self.schema.empty_table()), bad


def _reason(data_type: DataType, exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"{data_type.kebab} data point without {exc.args[0]!r}"
    return f"{data_type.kebab} data point rejected: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


# --- column builders (each takes one list of raw JSON values and returns an Arrow array) ---------


def instants(values: list[Any]) -> pa.Array:
    """RFC 3339 strings ("2026-08-06T12:01:29Z", fractions down to nanoseconds) -> timestamp[us, UTC]."""
    nanos = pc.cast(pa.array(values, pa.string()), pa.timestamp("ns", tz="UTC"))
    if nanos.null_count:
        raise ValueError("a required timestamp is missing")
    return nanos.cast(TS_UTC, safe=False)


def optional_instants(values: list[Any]) -> pa.Array:
    return pc.cast(pa.array(values, pa.string()), pa.timestamp("ns", tz="UTC")).cast(TS_UTC, safe=False)


_offset_cache: dict[str, int] = {}


def offsets(values: list[Any]) -> pa.Array:
    """google-duration utcOffset ("-14400s") -> int32 seconds. Few distinct values per page, so parsed once each."""
    out = []
    for value in values:
        seconds = _offset_cache.get(value)
        if seconds is None:
            if not isinstance(value, str) or not value.endswith("s"):
                raise ValueError(f"utcOffset {value!r} is not a duration like '-14400s'")
            seconds = round(float(value[:-1]))
            if abs(seconds) > 18 * 3600:
                raise ValueError(f"utcOffset {value!r} is beyond +-18 hours")
            _offset_cache[value] = seconds
        out.append(seconds)
    return pa.array(out, pa.int32())


def durations(values: list[Any]) -> pa.Array:
    """Optional google-duration ("1025s") -> float64 seconds."""
    out = []
    for value in values:
        if value is None:
            out.append(None)
        elif isinstance(value, str) and value.endswith("s"):
            out.append(float(value[:-1]))
        else:
            raise ValueError(f"duration {value!r} is not like '1025s'")
    return pa.array(out, pa.float64())


def int64s(values: list[Any], low: int | None = None, high: int | None = None, required: bool = True) -> pa.Array:
    """int64 values, which the API sends as JSON strings ("72"); a JSON number is accepted too."""
    strings = pa.array([None if v is None else str(v) for v in values], pa.string())
    numbers = strings.cast(pa.int64())
    return _checked(numbers, low, high, required)


def floats(values: list[Any], low: float | None = None, high: float | None = None, required: bool = True) -> pa.Array:
    for value in values:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"{value!r} is not a number")
    return _checked(pa.array(values, pa.float64()), low, high, required)


def _checked(array: pa.Array, low, high, required: bool) -> pa.Array:
    if required and array.null_count:
        raise ValueError("a required value is missing")
    if low is not None and pc.any(pc.less(array, low)).as_py():
        raise ValueError(f"a value is below {low}")
    if high is not None and pc.any(pc.greater(array, high)).as_py():
        raise ValueError(f"a value is above {high}")
    return array


def dates(values: list[Any]) -> pa.Array:
    """google.type.Date {year, month, day} -> date32 (a partial date is malformed here)."""
    return pa.array([date(v["year"], v["month"], v["day"]) for v in values], pa.date32())


def local(at_utc: pa.Array, offset_seconds: pa.Array) -> pa.Array:
    """The wall clock: the instant shifted by the point's own UTC offset, as a zone-less timestamp."""
    shifted = pc.add(at_utc.cast(pa.int64()), pc.multiply(offset_seconds.cast(pa.int64()), _MICROS))
    return shifted.cast(TS_LOCAL)


def utc_dates(at_utc: pa.Array) -> pa.Array:
    return at_utc.cast(pa.date32())


def point_ids(points: list[dict]) -> pa.Array:
    """The data point's id (last segment of `name`, or `dataPointName` on reconciled points); absent on most types."""
    out = []
    for point in points:
        name = point.get("dataPointName") or point.get("name")
        out.append(name.rsplit("/", 1)[-1] if isinstance(name, str) and name else None)
    return pa.array(out, pa.string())


def _table(schema: pa.Schema, columns: dict[str, pa.Array]) -> pa.Table:
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


def _schema(fields: list[tuple[str, pa.DataType]], keys: tuple[str, ...] = ("window_date",)) -> pa.Schema:
    return pa.schema([pa.field(name, kind, nullable=name not in keys) for name, kind in fields])


# --- sample types: one instant each ------------------------------------------------------------

HEART_RATE_SCHEMA = _schema([
    ("window_date", pa.date32()), ("sample_at_utc", TS_UTC), ("sample_at_local", TS_LOCAL),
    ("utc_offset_seconds", pa.int32()), ("bpm", pa.int32())], keys=("window_date", "sample_at_utc"))


def _heart_rate(points: list[dict]) -> pa.Table:
    values = [p["heartRate"] for p in points]
    times = [v["sampleTime"] for v in values]
    at = instants([t["physicalTime"] for t in times])
    offset = offsets([t["utcOffset"] for t in times])
    bpm = int64s([v["beatsPerMinute"] for v in values], 1, 300).cast(pa.int32())
    return _table(HEART_RATE_SCHEMA, {"window_date": utc_dates(at), "sample_at_utc": at,
                                      "sample_at_local": local(at, offset), "utc_offset_seconds": offset, "bpm": bpm})


WEIGHT_SCHEMA = _schema([
    ("window_date", pa.date32()), ("weight_id", pa.string()), ("measured_at_utc", TS_UTC),
    ("measured_at_local", TS_LOCAL), ("utc_offset_seconds", pa.int32()), ("weight_grams", pa.float64()),
    ("notes", pa.string())], keys=("window_date", "measured_at_utc"))


def _weight(points: list[dict]) -> pa.Table:
    values = [p["weight"] for p in points]
    times = [v["sampleTime"] for v in values]
    at = instants([t["physicalTime"] for t in times])
    offset = offsets([t["utcOffset"] for t in times])
    return _table(WEIGHT_SCHEMA, {
        "window_date": utc_dates(at), "weight_id": point_ids(points), "measured_at_utc": at,
        "measured_at_local": local(at, offset), "utc_offset_seconds": offset,
        "weight_grams": floats([v["weightGrams"] for v in values], 0, 1_000_000),
        "notes": pa.array([v.get("notes") for v in values], pa.string())})


BODY_FAT_SCHEMA = _schema([
    ("window_date", pa.date32()), ("body_fat_id", pa.string()), ("measured_at_utc", TS_UTC),
    ("measured_at_local", TS_LOCAL), ("utc_offset_seconds", pa.int32()), ("body_fat_percent", pa.float64())],
    keys=("window_date", "measured_at_utc"))


def _body_fat(points: list[dict]) -> pa.Table:
    values = [p["bodyFat"] for p in points]
    times = [v["sampleTime"] for v in values]
    at = instants([t["physicalTime"] for t in times])
    offset = offsets([t["utcOffset"] for t in times])
    return _table(BODY_FAT_SCHEMA, {
        "window_date": utc_dates(at), "body_fat_id": point_ids(points), "measured_at_utc": at,
        "measured_at_local": local(at, offset), "utc_offset_seconds": offset,
        "body_fat_percent": floats([v["percentage"] for v in values], 0, 100)})


# --- interval types: a start and an end --------------------------------------------------------

STEPS_SCHEMA = _schema([
    ("window_date", pa.date32()), ("start_at_utc", TS_UTC), ("end_at_utc", TS_UTC), ("start_at_local", TS_LOCAL),
    ("end_at_local", TS_LOCAL), ("start_utc_offset_seconds", pa.int32()), ("end_utc_offset_seconds", pa.int32()),
    ("steps", pa.int64())], keys=("window_date", "start_at_utc"))


def _interval_columns(intervals: list[dict]) -> dict[str, pa.Array]:
    start = instants([i["startTime"] for i in intervals])
    end = instants([i["endTime"] for i in intervals])
    start_offset = offsets([i["startUtcOffset"] for i in intervals])
    end_offset = offsets([i["endUtcOffset"] for i in intervals])
    if pc.any(pc.less(end, start)).as_py():
        raise ValueError("an interval ends before it starts")
    return {"start_at_utc": start, "end_at_utc": end, "start_at_local": local(start, start_offset),
            "end_at_local": local(end, end_offset), "start_utc_offset_seconds": start_offset,
            "end_utc_offset_seconds": end_offset}


def _steps(points: list[dict]) -> pa.Table:
    values = [p["steps"] for p in points]
    columns = _interval_columns([v["interval"] for v in values])
    return _table(STEPS_SCHEMA, {**columns, "window_date": utc_dates(columns["start_at_utc"]),
                                 "steps": int64s([v["count"] for v in values], 0, 1_000_000)})


def _interval_schema(values: list[tuple[str, pa.DataType]]) -> pa.Schema:
    return _schema([*[(f.name, f.type) for f in STEPS_SCHEMA if f.name != "steps"], *values],
                   keys=("window_date", "start_at_utc"))


# energy: the API splits what Fitbit reports as one calorie figure (BMR included) into active energy (an
# activity's burn, "excluding the basal energy burn") and basal energy (the BMR's burn), both kcal as doubles
ACTIVE_ENERGY_SCHEMA = _interval_schema([("active_kcal", pa.float64())])
BASAL_ENERGY_SCHEMA = _interval_schema([("basal_kcal", pa.float64())])


def _energy(schema: pa.Schema, value_key: str, column: str) -> Callable[[list[dict]], pa.Table]:
    def convert(points: list[dict]) -> pa.Table:
        values = [p[value_key] for p in points]
        columns = _interval_columns([v["interval"] for v in values])
        # ActiveEnergyBurned.kcal: "Must be in the range [0, 1000000]" (the basal kcal documents no range)
        return _table(schema, {**columns, "window_date": utc_dates(columns["start_at_utc"]),
                               column: floats([v["kcal"] for v in values], 0, 1_000_000)})

    return convert


# active minutes: per interval, whole minutes per level (at most one entry per level); the API's LIGHT, MODERATE
# and VIGOROUS are Fitbit's lightly, moderately and very active minutes
ACTIVITY_LEVEL_COLUMNS = {"LIGHT": "light_minutes", "MODERATE": "moderate_minutes", "VIGOROUS": "vigorous_minutes"}
ACTIVE_MINUTES_SCHEMA = _interval_schema([(c, pa.int64()) for c in ACTIVITY_LEVEL_COLUMNS.values()])


def _active_minutes(points: list[dict]) -> pa.Table:
    values = [p["activeMinutes"] for p in points]
    columns = _interval_columns([v["interval"] for v in values])
    minutes: dict[str, list[Any]] = {c: [None] * len(values) for c in ACTIVITY_LEVEL_COLUMNS.values()}
    for i, value in enumerate(values):
        levels = value["activeMinutesByActivityLevel"]
        if not isinstance(levels, list):
            raise ValueError("activeMinutesByActivityLevel is not a list")
        for entry in levels:
            column = ACTIVITY_LEVEL_COLUMNS.get(entry["activityLevel"])
            if column is None:
                raise ValueError(f"activity level {entry['activityLevel']!r} is not LIGHT, MODERATE or VIGOROUS")
            if minutes[column][i] is not None:
                raise ValueError(f"activity level {entry['activityLevel']} twice in one interval")
            minutes[column][i] = entry["activeMinutes"]
    span = pc.divide(pc.subtract(columns["end_at_utc"].cast(pa.int64()), columns["start_at_utc"].cast(pa.int64())),
                     60 * _MICROS)
    out = {column: int64s(raw, 0, required=False) for column, raw in minutes.items()}
    total = pc.add(pc.add(pc.coalesce(out["light_minutes"], 0), pc.coalesce(out["moderate_minutes"], 0)),
                   pc.coalesce(out["vigorous_minutes"], 0))
    if pc.any(pc.greater(total, pc.add(span, 1))).as_py():
        raise ValueError("more active minutes than the interval has")
    return _table(ACTIVE_MINUTES_SCHEMA, {**columns, "window_date": utc_dates(columns["start_at_utc"]), **out})


# --- sessions: sleep and exercise (25 to a page) -----------------------------------------------

SLEEP_STAGES = ("AWAKE", "LIGHT", "DEEP", "REM", "ASLEEP", "RESTLESS")

SLEEP_SCHEMA = _schema([
    ("window_date", pa.date32()), ("sleep_id", pa.string()), ("start_at_utc", TS_UTC), ("end_at_utc", TS_UTC),
    ("start_at_local", TS_LOCAL), ("end_at_local", TS_LOCAL), ("start_utc_offset_seconds", pa.int32()),
    ("end_utc_offset_seconds", pa.int32()), ("sleep_type", pa.string()), ("is_main_sleep", pa.bool_()),
    ("is_nap", pa.bool_()), ("is_processed", pa.bool_()), ("is_manually_edited", pa.bool_()),
    ("stages_status", pa.string()), ("minutes_in_sleep_period", pa.int64()), ("minutes_asleep", pa.int64()),
    ("minutes_awake", pa.int64()), ("minutes_to_fall_asleep", pa.int64()), ("minutes_after_wake_up", pa.int64()),
    *[(f"{stage.lower()}_minutes", pa.int64()) for stage in SLEEP_STAGES],
    ("stage_segments", pa.int32()), ("stages", pa.string()), ("created_at_utc", TS_UTC),
    ("updated_at_utc", TS_UTC)], keys=("window_date", "sleep_id", "start_at_utc"))


def _stage_minutes(sleep: dict) -> dict[str, int | None]:
    """Minutes per stage type from summary.stagesSummary, or summed from the stage segments while the
    summary is missing (a session still being processed)."""
    summary = (sleep.get("summary") or {}).get("stagesSummary")
    minutes: dict[str, int | None] = dict.fromkeys(SLEEP_STAGES)
    if summary is not None:
        for stage in summary:
            minutes[stage["type"]] = int(stage["minutes"])
        return minutes
    start_end = [(s["type"], instants([s["startTime"], s["endTime"]]).cast(pa.int64()).to_pylist())
                 for s in sleep.get("stages") or []]
    for stage, (start, end) in start_end:
        minutes[stage] = (minutes[stage] or 0) + round((end - start) / 60 / _MICROS)
    return minutes


def _sleep(points: list[dict]) -> pa.Table:
    values = [p["sleep"] for p in points]
    columns = _interval_columns([v["interval"] for v in values])
    ids = point_ids(points).to_pylist()
    starts = [v["interval"]["startTime"] for v in values]
    summaries = [v.get("summary") or {} for v in values]
    metadata = [v.get("metadata") or {} for v in values]
    stage_minutes = [_stage_minutes(v) for v in values]

    def summary(key: str) -> pa.Array:
        return int64s([s.get(key) for s in summaries], 0, required=False)

    return _table(SLEEP_SCHEMA, {
        **columns, "window_date": utc_dates(columns["end_at_utc"]),
        # sessions without a name still need a key: their start instant identifies them
        "sleep_id": pa.array([i or f"start-{s}" for i, s in zip(ids, starts, strict=True)], pa.string()),
        "sleep_type": pa.array([v.get("type") for v in values], pa.string()),
        "is_main_sleep": pa.array([m.get("mainSleep") for m in metadata], pa.bool_()),
        "is_nap": pa.array([m.get("nap") for m in metadata], pa.bool_()),
        "is_processed": pa.array([m.get("processed") for m in metadata], pa.bool_()),
        "is_manually_edited": pa.array([m.get("manuallyEdited") for m in metadata], pa.bool_()),
        "stages_status": pa.array([m.get("stagesStatus") for m in metadata], pa.string()),
        "minutes_in_sleep_period": summary("minutesInSleepPeriod"), "minutes_asleep": summary("minutesAsleep"),
        "minutes_awake": summary("minutesAwake"), "minutes_to_fall_asleep": summary("minutesToFallAsleep"),
        "minutes_after_wake_up": summary("minutesAfterWakeUp"),
        **{f"{stage.lower()}_minutes": pa.array([m[stage] for m in stage_minutes], pa.int64())
           for stage in SLEEP_STAGES},
        "stage_segments": pa.array([len(v.get("stages") or []) for v in values], pa.int32()),
        "stages": pa.array([json.dumps(v["stages"], separators=(",", ":")) if v.get("stages") is not None else None
                            for v in values], pa.string()),
        "created_at_utc": optional_instants([v.get("createTime") for v in values]),
        "updated_at_utc": optional_instants([v.get("updateTime") for v in values]),
    })


EXERCISE_SCHEMA = _schema([
    ("window_date", pa.date32()), ("exercise_id", pa.string()), ("start_at_utc", TS_UTC), ("end_at_utc", TS_UTC),
    ("start_at_local", TS_LOCAL), ("end_at_local", TS_LOCAL), ("start_utc_offset_seconds", pa.int32()),
    ("end_utc_offset_seconds", pa.int32()), ("exercise_type", pa.string()), ("display_name", pa.string()),
    ("active_duration_seconds", pa.float64()), ("calories_kcal", pa.float64()),
    ("distance_millimeters", pa.float64()), ("steps", pa.int64()), ("average_heart_rate_bpm", pa.int64()),
    ("updated_at_utc", TS_UTC)], keys=("window_date", "exercise_id", "start_at_utc"))


def _exercise(points: list[dict]) -> pa.Table:
    values = [p["exercise"] for p in points]
    columns = _interval_columns([v["interval"] for v in values])
    metrics = [v["metricsSummary"] for v in values]
    ids = point_ids(points).to_pylist()
    starts = [v["interval"]["startTime"] for v in values]
    for v in values:
        if not isinstance(v["exerciseType"], str):
            raise ValueError("exerciseType is not a string")
    return _table(EXERCISE_SCHEMA, {
        **columns,
        # the filter is on civil_start_time: the window is cut on the local start date
        "window_date": columns["start_at_local"].cast(pa.date32()),
        "exercise_id": pa.array([i or f"start-{s}" for i, s in zip(ids, starts, strict=True)], pa.string()),
        "exercise_type": pa.array([v["exerciseType"] for v in values], pa.string()),
        "display_name": pa.array([v.get("displayName") for v in values], pa.string()),
        "active_duration_seconds": durations([v.get("activeDuration") for v in values]),
        "calories_kcal": floats([m.get("caloriesKcal") for m in metrics], 0, required=False),
        "distance_millimeters": floats([m.get("distanceMillimeters") for m in metrics], 0, required=False),
        "steps": int64s([m.get("steps") for m in metrics], 0, required=False),
        "average_heart_rate_bpm": int64s([m.get("averageHeartRateBeatsPerMinute") for m in metrics], 0,
                                         required=False),
        "updated_at_utc": optional_instants([v.get("updateTime") for v in values]),
    })


# --- daily types: a local date, no time ---------------------------------------------------------

RESTING_HR_SCHEMA = _schema([
    ("window_date", pa.date32()), ("metric_date", pa.date32()), ("resting_bpm", pa.int32()),
    ("calculation_method", pa.string())], keys=("window_date", "metric_date"))


def _resting_heart_rate(points: list[dict]) -> pa.Table:
    values = [p["dailyRestingHeartRate"] for p in points]
    day = dates([v["date"] for v in values])
    return _table(RESTING_HR_SCHEMA, {
        "window_date": day, "metric_date": day,
        "resting_bpm": int64s([v["beatsPerMinute"] for v in values], 1, 300).cast(pa.int32()),
        "calculation_method": pa.array([(v.get("dailyRestingHeartRateMetadata") or {}).get("calculationMethod")
                                        for v in values], pa.string())})


HRV_SCHEMA = _schema([
    ("window_date", pa.date32()), ("metric_date", pa.date32()), ("average_hrv_ms", pa.float64()),
    ("deep_sleep_rmssd_ms", pa.float64()), ("entropy", pa.float64()), ("non_rem_bpm", pa.int64())],
    keys=("window_date", "metric_date"))


def _hrv(points: list[dict]) -> pa.Table:
    values = [p["dailyHeartRateVariability"] for p in points]
    day = dates([v["date"] for v in values])
    average = floats([v.get("averageHeartRateVariabilityMilliseconds") for v in values], 0, required=False)
    deep = floats([v.get("deepSleepRootMeanSquareOfSuccessiveDifferencesMilliseconds") for v in values], 0,
                  required=False)
    entropy = floats([v.get("entropy") for v in values], required=False)
    non_rem = int64s([v.get("nonRemHeartRateBeatsPerMinute") for v in values], 0, required=False)
    if any(all(c[i].as_py() is None for c in (average, deep, entropy, non_rem)) for i in range(len(values))):
        raise ValueError("none of the heart rate variability values is set")
    return _table(HRV_SCHEMA, {"window_date": day, "metric_date": day, "average_hrv_ms": average,
                               "deep_sleep_rmssd_ms": deep, "entropy": entropy, "non_rem_bpm": non_rem})


SPO2_SCHEMA = _schema([
    ("window_date", pa.date32()), ("metric_date", pa.date32()), ("average_percent", pa.float64()),
    ("lower_bound_percent", pa.float64()), ("upper_bound_percent", pa.float64()),
    ("standard_deviation_percent", pa.float64())], keys=("window_date", "metric_date"))


def _spo2(points: list[dict]) -> pa.Table:
    values = [p["dailyOxygenSaturation"] for p in points]
    day = dates([v["date"] for v in values])
    return _table(SPO2_SCHEMA, {
        "window_date": day, "metric_date": day,
        "average_percent": floats([v["averagePercentage"] for v in values], 0, 100),
        "lower_bound_percent": floats([v.get("lowerBoundPercentage") for v in values], 0, 100, required=False),
        "upper_bound_percent": floats([v.get("upperBoundPercentage") for v in values], 0, 100, required=False),
        "standard_deviation_percent": floats([v.get("standardDeviationPercentage") for v in values], 0,
                                             required=False)})


DATA_TYPES: tuple[DataType, ...] = (
    DataType("heart_rate_samples", "heart-rate", "heartRate", "heart_rate.sample_time.physical_time", "timestamp",
             MAX_PAGE_SIZE, True, HEART_RATE_SCHEMA, _heart_rate,
             "One row per heart-rate sample (every sample the reconciled stream holds)."),
    DataType("steps_intervals", "steps", "steps", "steps.interval.start_time", "timestamp",
             MAX_PAGE_SIZE, True, STEPS_SCHEMA, _steps, "One row per steps interval (typically a minute)."),
    DataType("sleep_sessions", "sleep", "sleep", "sleep.interval.end_time", "timestamp",
             SESSION_PAGE_SIZE, False, SLEEP_SCHEMA, _sleep,
             "One row per sleep session with its stage summary (stages kept as JSON)."),
    DataType("weight_points", "weight", "weight", "weight.sample_time.physical_time", "timestamp",
             MAX_PAGE_SIZE, True, WEIGHT_SCHEMA, _weight, "One row per weigh-in, in grams as the API sends it."),
    DataType("body_fat_points", "body-fat", "bodyFat", "body_fat.sample_time.physical_time", "timestamp",
             MAX_PAGE_SIZE, True, BODY_FAT_SCHEMA, _body_fat, "One row per body-fat measurement (percent)."),
    DataType("daily_resting_heart_rate", "daily-resting-heart-rate", "dailyRestingHeartRate",
             "daily_resting_heart_rate.date", "date", MAX_PAGE_SIZE, True, RESTING_HR_SCHEMA, _resting_heart_rate,
             "One row per day with a resting heart rate."),
    DataType("daily_hrv", "daily-heart-rate-variability", "dailyHeartRateVariability",
             "daily_heart_rate_variability.date", "date", MAX_PAGE_SIZE, True, HRV_SCHEMA, _hrv,
             "One row per day with heart-rate variability (RMSSD, milliseconds)."),
    DataType("daily_spo2", "daily-oxygen-saturation", "dailyOxygenSaturation", "daily_oxygen_saturation.date",
             "date", MAX_PAGE_SIZE, True, SPO2_SCHEMA, _spo2, "One row per night's oxygen saturation (percent)."),
    DataType("exercise_sessions", "exercise", "exercise", "exercise.interval.civil_start_time", "date",
             SESSION_PAGE_SIZE, True, EXERCISE_SCHEMA, _exercise, "One row per exercise session."),
    DataType("active_energy_intervals", "active-energy-burned", "activeEnergyBurned",
             "active_energy_burned.interval.start_time", "timestamp", MAX_PAGE_SIZE, True, ACTIVE_ENERGY_SCHEMA,
             _energy(ACTIVE_ENERGY_SCHEMA, "activeEnergyBurned", "active_kcal"),
             "One row per active-energy interval (kcal burned by activity, basal excluded)."),
    DataType("basal_energy_intervals", "basal-energy-burned", "basalEnergyBurned",
             "basal_energy_burned.interval.start_time", "timestamp", MAX_PAGE_SIZE, True, BASAL_ENERGY_SCHEMA,
             _energy(BASAL_ENERGY_SCHEMA, "basalEnergyBurned", "basal_kcal"),
             "One row per basal-energy interval (kcal burned by the basal metabolic rate)."),
    DataType("active_minutes_intervals", "active-minutes", "activeMinutes", "active_minutes.interval.start_time",
             "timestamp", MAX_PAGE_SIZE, True, ACTIVE_MINUTES_SCHEMA, _active_minutes,
             "One row per active-minutes interval: whole minutes per level (light, moderate, vigorous)."),
)
BY_ENTITY = {t.entity: t for t in DATA_TYPES}

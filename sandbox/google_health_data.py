"""The synthetic person as the Google Health API v4 shows them: data points per data type, per device.

Everything derives from the same `FitbitHealth` the Takeout export writer uses (sandbox/fitbit_data.py),
so the API and the export describe one life: the generator's local wall-clock times become instants
through the person's time zone, each point carrying its own utcOffset. What the export does not have
is filled in here from the same calendar and said so: exercise sessions (the heart-rate generator's
daily workout bout), and daily HRV / SpO2 when the generator has none. Energy and active minutes come from
the export's own per-minute truth (sandbox/fitbit_activity.py), split the API's way: active energy (the
minute's kcal less the BMR, minutes above it only), basal energy (the BMR, an interval per hour), active
minutes per hour and level (light/moderate/very -> LIGHT/MODERATE/VIGOROUS).

Per device, as the API stores it: the watch records heart rate, steps, sleep and the daily metrics;
the phone also counted steps during some of the watch's walking minutes (the same intervals, its own
counts); the scale records weight and body fat. `list` serves each device's points; `reconcile` merges
them into one stream (the watch wins an interval both reported), which is what a pipeline should read.

State the tests and demos change (knobs): deleted and edited points, corrupt points, days that arrive
late (a day's data visible only from a later server date), and empty pages in the paging.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from sandbox.fitbit_data import FitbitHealth

# the person's time zone when the generator does not name one (FitbitHealth.timezone, if present, wins)
DEFAULT_TIMEZONE = "Europe/Berlin"
HEALTH_USER_ID = "4242424242424242424"

WATCH = {"recordingMethod": "PASSIVELY_MEASURED", "platform": "FITBIT",
         "device": {"formFactor": "WATCH", "displayName": "Pixel Watch 3", "manufacturer": "Google"}}
WATCH_DERIVED = {**WATCH, "recordingMethod": "DERIVED"}
PHONE = {"recordingMethod": "PASSIVELY_MEASURED", "platform": "HEALTH_CONNECT",
         "device": {"formFactor": "PHONE", "displayName": "Pixel 9", "manufacturer": "Google"},
         "application": {"packageName": "com.google.android.apps.fitness"}}
SCALE = {"recordingMethod": "PASSIVELY_MEASURED", "platform": "FITBIT",
         "device": {"formFactor": "SCALE", "displayName": "Aria Air", "manufacturer": "Fitbit"}}

# Fitbit sleep levels -> the API's SleepStage types
STAGE_TYPES = {"wake": "AWAKE", "light": "LIGHT", "deep": "DEEP", "rem": "REM", "asleep": "ASLEEP",
               "restless": "RESTLESS", "awake": "AWAKE"}


@dataclass(frozen=True)
class TypeInfo:
    """How a data type is stored and filtered: its value member, filter members and whether points have names."""

    kebab: str
    value_key: str
    kind: str  # sample | interval | session | daily
    filter_members: tuple[str, ...]  # the AIP-160 members the API accepts for it
    identifiable: bool  # points carry a name (users/.../dataPoints/<id>)
    max_page_size: int = 10_000
    default_page_size: int = 1440
    family_allowed: bool = True  # dataSourceFamily on list (the API rejects it for sleep)

    @property
    def snake(self) -> str:
        return self.kebab.replace("-", "_")


TYPES = {t.kebab: t for t in (
    TypeInfo("heart-rate", "heartRate", "sample", ("sample_time.physical_time", "sample_time.civil_time"), False),
    TypeInfo("steps", "steps", "interval", ("interval.start_time", "interval.civil_start_time"), False),
    TypeInfo("sleep", "sleep", "session", ("interval.end_time", "interval.civil_end_time"), True, 25, 25, False),
    TypeInfo("weight", "weight", "sample", ("sample_time.physical_time", "sample_time.civil_time"), True),
    TypeInfo("body-fat", "bodyFat", "sample", ("sample_time.physical_time", "sample_time.civil_time"), True),
    TypeInfo("daily-resting-heart-rate", "dailyRestingHeartRate", "daily", ("date",), False),
    TypeInfo("daily-heart-rate-variability", "dailyHeartRateVariability", "daily", ("date",), False),
    TypeInfo("daily-oxygen-saturation", "dailyOxygenSaturation", "daily", ("date",), False),
    TypeInfo("exercise", "exercise", "session", ("interval.civil_start_time",), True, 25, 25),
    TypeInfo("active-energy-burned", "activeEnergyBurned", "interval",
             ("interval.start_time", "interval.civil_start_time"), False),
    TypeInfo("basal-energy-burned", "basalEnergyBurned", "interval",
             ("interval.start_time", "interval.civil_start_time"), False),
    TypeInfo("active-minutes", "activeMinutes", "interval", ("interval.start_time", "interval.civil_start_time"),
             False),
)}

# the export's activity levels (sandbox/fitbit_activity.py) -> the API's ActiveMinutesByActivityLevel levels
ACTIVITY_LEVELS = {"light": "LIGHT", "moderate": "MODERATE", "very": "VIGOROUS"}


def rfc3339(at: datetime) -> str:
    """An instant as the API writes it: UTC, 'Z', fractions only when there are any."""
    at = at.astimezone(UTC)
    text = at.strftime("%Y-%m-%dT%H:%M:%S")
    if at.microsecond:
        text += f".{at.microsecond:06d}".rstrip("0")
    return text + "Z"


def offset_text(seconds: int) -> str:
    return f"{seconds}s"


def date_json(d: date) -> dict:
    return {"year": d.year, "month": d.month, "day": d.day}


def civil_json(local: datetime) -> dict:
    """google.type civil date-time; zero time fields are omitted, as proto3 JSON does."""
    clock = {k: v for k, v in (("hours", local.hour), ("minutes", local.minute), ("seconds", local.second),
                               ("nanos", local.microsecond * 1000)) if v}
    return {"date": date_json(local.date()), "time": clock}


@dataclass
class Point:
    """One stored data point: its device, its unique key, what filters compare, and its value member."""

    key: str  # unique per data type: the instant, the interval start, the date, or the point id
    sort: datetime | date  # newest first by this (sample time, interval start, date)
    members: dict[str, datetime | date]  # filter member -> value (aware datetimes, naive civil ones, dates)
    value: dict
    source: dict
    point_id: str | None = None


@dataclass
class HeartRateDay:
    """A local day of heart-rate samples as arrays, newest first."""

    day: date
    utc_us: np.ndarray  # the instants, microseconds since the epoch
    local_s: np.ndarray  # seconds after local midnight
    offset_s: np.ndarray  # the UTC offset of each sample
    bpm: np.ndarray

    def __len__(self) -> int:
        return len(self.utc_us)


EPOCH = datetime(1970, 1, 1)


@cache
def _clock_json(seconds_of_day: int) -> str:
    """The civilTime.time object of a second of the day as JSON text (zero fields omitted, as proto3 JSON does)."""
    hours, rest = divmod(seconds_of_day, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f'"{k}":{v}' for k, v in (("hours", hours), ("minutes", minutes), ("seconds", seconds)) if v]
    return "{" + ",".join(parts) + "}"



def _micros(rfc3339_text: str) -> int:
    at = datetime.fromisoformat(rfc3339_text.replace("Z", "+00:00"))
    return round((at - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)


def _patched(value: dict, edits: dict, corrupt: dict) -> dict:
    """The value member with edits applied and corruption (a None removes the member) on top."""
    value = {**value, **edits}
    for member, replacement in corrupt.items():
        if replacement is None:
            value.pop(member, None)
        else:
            value[member] = replacement
    return value


@dataclass
class Knobs:
    """What tests and demos change; every change bumps `version` so cached days are rebuilt."""

    deleted: dict[str, set[str]] = field(default_factory=dict)  # kebab -> keys
    edits: dict[str, dict[str, dict]] = field(default_factory=dict)  # kebab -> key -> value members to replace
    corrupt: dict[str, dict[str, dict]] = field(default_factory=dict)  # kebab -> key -> value patch (None deletes)
    late: dict[date, date] = field(default_factory=dict)  # local day -> first server date it is visible
    today: date | None = None  # the server's date (None: every day is visible)
    empty_page_every: int = 4  # every n-th page of a query comes back empty with a token (0: never)
    version: int = 0


class GoogleHealthData:
    """Data points of every data type, newest first, built a local day at a time from `FitbitHealth`."""

    def __init__(self, health: FitbitHealth, timezone: str | None = None):
        self.health = health
        self.zone = ZoneInfo(timezone or getattr(health, "timezone", None) or DEFAULT_TIMEZONE)
        self.knobs = Knobs()
        self.life_days = health.life.dates()
        self._by_day: dict[tuple[str, date], list[Point]] = {}
        self._sessions = self._index_sessions()
        self._extra = _ExtraMetrics(health)
        self._activity = None  # sandbox.fitbit_activity.FitbitActivity, built on first use (it imports this module)
        self._day_points = lru_cache(maxsize=512)(self._build_day)
        self._heart_rate_days = lru_cache(maxsize=128)(self._build_heart_rate_day)

    # --- time -----------------------------------------------------------------------------

    def instant(self, local: datetime) -> tuple[datetime, int]:
        """(the UTC instant, the offset in seconds) of a wall-clock time of the person."""
        offset = int(local.replace(tzinfo=self.zone).utcoffset().total_seconds())
        return (local - timedelta(seconds=offset)).replace(tzinfo=UTC), offset

    def _hour_offsets(self, day: date) -> np.ndarray:
        return np.array([self.instant(datetime.combine(day, time(h, 30)))[1] for h in range(24)], dtype=np.int64)

    # --- knobs ------------------------------------------------------------------------------

    def changed(self) -> None:
        self.knobs.version += 1
        self._day_points.cache_clear()
        self._heart_rate_days.cache_clear()

    def delete(self, kebab: str, key: str) -> None:
        self.knobs.deleted.setdefault(kebab, set()).add(key)
        self.changed()

    def edit(self, kebab: str, key: str, changes: dict) -> None:
        self.knobs.edits.setdefault(kebab, {}).setdefault(key, {}).update(changes)
        self.changed()

    def make_corrupt(self, kebab: str, key: str, patch: dict) -> None:
        self.knobs.corrupt.setdefault(kebab, {})[key] = patch
        self.changed()

    def arrive_late(self, day: date, days_late: int = 2) -> None:
        """The day's data shows up `days_late` days after it (the watch synced late); the server clock stops at the
        life's last day unless set."""
        self.knobs.late[day] = day + timedelta(days=days_late)
        if self.knobs.today is None:
            self.knobs.today = self.health.life.config.end
        self.changed()

    def set_today(self, today: date | None) -> None:
        self.knobs.today = today
        self.changed()

    def visible(self, day: date) -> bool:
        today = self.knobs.today
        if today is None:
            return True
        return day <= today and (day not in self.knobs.late or today >= self.knobs.late[day])

    # --- points ------------------------------------------------------------------------------

    def day_points(self, kebab: str, day: date) -> list[Point]:
        """Every device's points of one local day, newest first, with the knobs applied."""
        return self._day_points(kebab, day, self.knobs.version)

    def _build_day(self, kebab: str, day: date, _version: int) -> list[Point]:
        if not self.visible(day):
            return []
        points = getattr(self, "_" + kebab.replace("-", "_"))(day)
        deleted = self.knobs.deleted.get(kebab, set())
        edits, corrupt = self.knobs.edits.get(kebab, {}), self.knobs.corrupt.get(kebab, {})
        out = []
        for point in points:
            if point.key in deleted:
                continue
            if point.key in edits or point.key in corrupt:
                point.value = _patched(point.value, edits.get(point.key, {}), corrupt.get(point.key, {}))
            out.append(point)
        out.sort(key=lambda p: p.sort, reverse=True)
        return out

    def _sample(self, local: datetime, value: dict, source: dict, key: str | None = None,
                point_id: str | None = None, civil: bool = True) -> Point:
        at, offset = self.instant(local)
        sample_time = {"physicalTime": rfc3339(at), "utcOffset": offset_text(offset)}
        if civil:
            sample_time["civilTime"] = civil_json(local)
        return Point(key or sample_time["physicalTime"], at,
                     {"sample_time.physical_time": at, "sample_time.civil_time": local},
                     {"sampleTime": sample_time, **value}, source, point_id)

    def _interval(self, start_local: datetime, end_local: datetime, civil: bool) -> tuple[dict, datetime, datetime]:
        start, start_offset = self.instant(start_local)
        end, end_offset = self.instant(end_local)
        interval = {"startTime": rfc3339(start), "startUtcOffset": offset_text(start_offset),
                    "endTime": rfc3339(end), "endUtcOffset": offset_text(end_offset)}
        if civil:
            interval.update(civilStartTime=civil_json(start_local), civilEndTime=civil_json(end_local))
        return interval, start, end

    def heart_rate_day(self, day: date) -> HeartRateDay:
        """One day of heart rate as arrays, newest first (a day is ~21,600 samples: never an object per sample
        until a page renders it), with the knobs applied."""
        return self._heart_rate_days(day, self.knobs.version)

    def _build_heart_rate_day(self, day: date, _version: int) -> HeartRateDay:
        samples = self.health.heart_rate(day) if self.visible(day) else None
        if samples is None or not len(samples):
            empty = np.empty(0, dtype=np.int64)
            return HeartRateDay(day, empty, empty, empty, empty)
        offsets = self._hour_offsets(day)[samples.seconds // 3600]
        midnight_us = int((datetime.combine(day, time()) - EPOCH).total_seconds()) * 1_000_000
        utc_us = midnight_us + (samples.seconds.astype(np.int64) - offsets) * 1_000_000
        order = np.argsort(-utc_us, kind="stable")
        hr = HeartRateDay(day, utc_us[order], samples.seconds.astype(np.int64)[order], offsets[order],
                          samples.bpm.astype(np.int64)[order])
        deleted = self.knobs.deleted.get("heart-rate")
        if deleted:
            gone = np.array([_micros(k) for k in deleted], dtype=np.int64)
            keep = ~np.isin(hr.utc_us, gone)
            hr = HeartRateDay(day, hr.utc_us[keep], hr.local_s[keep], hr.offset_s[keep], hr.bpm[keep])
        return hr

    def render_heart_rate(self, hr: HeartRateDay, index: np.ndarray) -> list[str]:
        """The JSON text of the DataPoints at `index` (heart rate is neither identifiable nor multi-device),
        written as text: a year of samples is millions of points, too many to build as dicts here."""
        physical = np.datetime_as_string(hr.utc_us[index].astype("datetime64[us]").astype("datetime64[s]"), unit="s")
        day = json.dumps(date_json(hr.day), separators=(",", ":"))
        edits, corrupt = self.knobs.edits.get("heart-rate", {}), self.knobs.corrupt.get("heart-rate", {})
        out = []
        for text, local_s, offset, bpm in zip(physical.tolist(), hr.local_s[index].tolist(),
                                              hr.offset_s[index].tolist(), hr.bpm[index].tolist(), strict=True):
            key = text + "Z"
            if key in edits or key in corrupt:
                value = {"sampleTime": {"physicalTime": key, "utcOffset": f"{offset}s",
                                        "civilTime": civil_json(datetime.combine(hr.day, time()) +
                                                                timedelta(seconds=local_s))},
                         "beatsPerMinute": str(bpm)}
                out.append(json.dumps({"heartRate": _patched(value, edits.get(key, {}), corrupt.get(key, {}))}))
                continue
            clock = _clock_json(local_s)
            out.append(f'{{"heartRate":{{"sampleTime":{{"physicalTime":"{key}","utcOffset":"{offset}s",'
                       f'"civilTime":{{"date":{day},"time":{clock}}}}},"beatsPerMinute":"{bpm}"}}}}')
        return out

    def _steps(self, day: date) -> list[Point]:
        minutes = self.health.minute_steps.get(day, {})
        midnight = datetime.combine(day, time())
        phone_minutes = _phone_minutes(day, sorted(minutes))
        points = []
        for minute, count in minutes.items():
            start_local = midnight + timedelta(minutes=minute)
            interval, start, _ = self._interval(start_local, start_local + timedelta(minutes=1), civil=True)
            members = {"interval.start_time": start, "interval.civil_start_time": start_local}
            value = {"interval": interval, "count": str(count)}
            points.append(Point(interval["startTime"], start, members, value, WATCH))
            if minute in phone_minutes:  # the phone counted the same minute: the same interval, its own count
                points.append(Point(interval["startTime"] + "#phone", start, members,
                                    {"interval": interval, "count": str(max(1, round(count * 0.9)))}, PHONE))
        return points

    # --- energy and active minutes: the same per-minute truth the export writes (sandbox/fitbit_activity.py) ---

    def activity_day(self, day: date):
        """The day's per-minute calories and activity levels (None on a day the watch was not worn)."""
        if self._activity is None:
            from sandbox.fitbit_activity import FitbitActivity

            self._activity = FitbitActivity(self.health)
        return self._activity.day(day)

    def _interval_point(self, start_local: datetime, minutes: int, value: dict) -> Point:
        interval, start, _ = self._interval(start_local, start_local + timedelta(minutes=minutes), civil=True)
        members = {"interval.start_time": start, "interval.civil_start_time": start_local}
        return Point(interval["startTime"], start, members, {"interval": interval, **value}, WATCH_DERIVED)

    def _active_energy_burned(self, day: date) -> list[Point]:
        """A minute interval for each minute that burned more than the BMR: the export's kcal less the BMR (the
        API's active energy excludes basal; the live payload shows minute intervals with civil times)."""
        from sandbox.fitbit_activity import BMR_KCAL_PER_MINUTE

        activity = self.activity_day(day)
        if activity is None:
            return []
        midnight = datetime.combine(day, time())
        return [self._interval_point(midnight + timedelta(minutes=minute), 1,
                                     {"kcal": round(float(kcal) - BMR_KCAL_PER_MINUTE, 2)})
                for minute, kcal in enumerate(activity.calories) if kcal > BMR_KCAL_PER_MINUTE + 0.001]

    def _basal_energy_burned(self, day: date) -> list[Point]:
        """An hour interval per local hour of a worn day: the BMR's kcal for those 60 minutes. [unverified] the
        interval length Google uses for basal energy (no recorded payload is public): hours keep a year small."""
        from sandbox.fitbit_activity import BMR_KCAL_PER_MINUTE

        if self.activity_day(day) is None:
            return []
        midnight = datetime.combine(day, time())
        return [self._interval_point(midnight + timedelta(hours=hour), 60, {"kcal": round(BMR_KCAL_PER_MINUTE * 60, 2)})
                for hour in range(24)]

    def _active_minutes(self, day: date) -> list[Point]:
        """An hour interval per local hour with active minutes, one entry per level it had (the contract allows at
        most one per level). [unverified] the interval length (no recorded payload is public)."""
        activity = self.activity_day(day)
        if activity is None:
            return []
        hours: dict[int, dict[str, int]] = {}
        for minute, level in activity.minute_levels.items():
            counts = hours.setdefault(minute // 60, {})
            counts[level] = counts.get(level, 0) + 1
        midnight = datetime.combine(day, time())
        return [self._interval_point(midnight + timedelta(hours=hour), 60, {"activeMinutesByActivityLevel": [
                    {"activityLevel": ACTIVITY_LEVELS[level], "activeMinutes": str(counts[level])}
                    for level in ACTIVITY_LEVELS if level in counts]})
                for hour, counts in sorted(hours.items())]

    def _index_sessions(self) -> dict[date, list[dict]]:
        by_day: dict[date, list[dict]] = {}
        for log in self.health.sleep:
            by_day.setdefault(date.fromisoformat(log["dateOfSleep"]), []).append(log)
        return by_day

    def _sleep(self, day: date) -> list[Point]:
        return [self._sleep_point(log) for log in self._sessions.get(day, [])]

    def _sleep_point(self, log: dict) -> Point:
        start_local = datetime.fromisoformat(log["startTime"][:19])
        end_local = datetime.fromisoformat(log["endTime"][:19])
        interval, start, end = self._interval(start_local, end_local, civil=False)  # live sleep has no civil times
        stages = []
        for segment in log["levels"]["data"]:
            seg_start = datetime.fromisoformat(segment["dateTime"][:19])
            seg, _, _ = self._interval(seg_start, seg_start + timedelta(seconds=segment["seconds"]), civil=False)
            stages.append({**seg, "type": STAGE_TYPES[segment["level"]]})
        classic = log["type"] == "classic"
        summary = log["levels"]["summary"]
        stage_summary = [{"type": STAGE_TYPES[level], "minutes": str(s["minutes"]), "count": str(s["count"])}
                         for level, s in summary.items()]
        nap = not log["isMainSleep"] and classic
        # processed and written after the wake-up sync
        written = rfc3339(end + timedelta(minutes=17))
        value = {
            "interval": interval, "type": "CLASSIC" if classic else "STAGES", "stages": stages,
            "metadata": {"stagesStatus": ("REJECTED_NAP" if nap else "REJECTED_COVERAGE") if classic else "SUCCEEDED",
                         "processed": True, "mainSleep": log["isMainSleep"], **({"nap": True} if nap else {})},
            "summary": {"minutesInSleepPeriod": str(log["timeInBed"]),
                        "minutesAfterWakeUp": str(log["minutesAfterWakeup"]),
                        "minutesToFallAsleep": str(log["minutesToFallAsleep"]),
                        "minutesAsleep": str(log["minutesAsleep"]), "minutesAwake": str(log["minutesAwake"]),
                        "stagesSummary": stage_summary},
            "createTime": rfc3339(start + timedelta(minutes=30)), "updateTime": written,
        }
        point_id = str(log["logId"])
        return Point(point_id, start, {"interval.end_time": end, "interval.civil_end_time": end_local}, value,
                     WATCH_DERIVED, point_id)

    def _weigh_ins(self, day: date) -> list[dict]:
        return [w for w in self.health.weight if w["date"] == day.isoformat()]

    def _weight(self, day: date) -> list[Point]:
        return [self._sample(datetime.fromisoformat(f"{w['date']}T{w['time']}"),
                             {"weightGrams": round(w["weight"] * 1000)}, SCALE, str(w["logId"]), str(w["logId"]))
                for w in self._weigh_ins(day)]

    def _body_fat(self, day: date) -> list[Point]:
        return [self._sample(datetime.fromisoformat(f"{w['date']}T{w['time']}"),
                             {"percentage": w["fat"]}, SCALE, str(w["logId"]), str(w["logId"]))
                for w in self._weigh_ins(day) if w.get("fat") is not None]

    def _daily(self, day: date, value: dict, source: dict = WATCH_DERIVED) -> Point:
        return Point(day.isoformat(), day, {"date": day}, {"date": date_json(day), **value}, source)

    def _daily_resting_heart_rate(self, day: date) -> list[Point]:
        resting = self.health.resting_heart_rate.get(day)
        if resting is None:
            return []
        # int64 in the API (the export keeps the decimals): the same measurement, rounded to whole beats
        return [self._daily(day, {"beatsPerMinute": str(round(resting)),
                                  "dailyRestingHeartRateMetadata": {"calculationMethod": "WITH_SLEEP"}})]

    def _daily_heart_rate_variability(self, day: date) -> list[Point]:
        rmssd = self._extra.hrv(day)
        if rmssd is None:
            return []
        return [self._daily(day, {"averageHeartRateVariabilityMilliseconds": rmssd,
                                  "deepSleepRootMeanSquareOfSuccessiveDifferencesMilliseconds": round(rmssd * 1.1, 1),
                                  "entropy": 2.6, "nonRemHeartRateBeatsPerMinute": "58"})]

    def _daily_oxygen_saturation(self, day: date) -> list[Point]:
        spo2 = self._extra.spo2(day)
        if spo2 is None:
            return []
        return [self._daily(day, {"averagePercentage": spo2, "lowerBoundPercentage": round(spo2 - 2.1, 1),
                                  "upperBoundPercentage": min(100.0, round(spo2 + 1.9, 1))})]

    def _exercise(self, day: date) -> list[Point]:
        workout = self._extra.workout(day)
        if workout is None:
            return []
        start_local, minutes, kind = workout
        end_local = start_local + timedelta(minutes=minutes)
        interval, start, end = self._interval(start_local, end_local, civil=False)  # live exercise: no civil times
        name, met, speed_m_s, cadence = EXERCISES[kind]
        seconds = minutes * 60
        metrics = {"caloriesKcal": round(met * 75 * minutes / 60, 1), "averageHeartRateBeatsPerMinute": str(
            round(self.health.resting_heart_rate.get(day, 62.0) + 55))}
        if speed_m_s:
            metrics["distanceMillimeters"] = round(speed_m_s * seconds * 1000)
        if cadence:
            metrics["steps"] = str(round(cadence * minutes))
        point_id = f"{int(start.timestamp())}{day.toordinal() % 1000:03d}"
        value = {"interval": interval, "exerciseType": kind, "displayName": name, "activeDuration": f"{seconds}s",
                 "metricsSummary": metrics, "exerciseMetadata": {},
                 "exerciseEvents": [{"eventTime": interval["startTime"], "eventUtcOffset": interval["startUtcOffset"],
                                     "exerciseEventType": "START"},
                                    {"eventTime": interval["endTime"], "eventUtcOffset": interval["endUtcOffset"],
                                     "exerciseEventType": "STOP"}],
                 "createTime": rfc3339(end + timedelta(minutes=9)), "updateTime": rfc3339(end + timedelta(minutes=9))}
        return [Point(point_id, start, {"interval.civil_start_time": start_local}, value, WATCH, point_id)]

    # --- rendering ---------------------------------------------------------------------------

    def render(self, info: TypeInfo, point: Point, reconciled: bool) -> dict:
        """The JSON of a DataPoint (list) or ReconciledDataPoint (reconcile): reconciled points carry no
        dataSource and name themselves `dataPointName`; only identifiable types have a name at all."""
        body: dict[str, Any] = {}
        if info.identifiable and point.point_id:
            name = f"users/{HEALTH_USER_ID}/dataTypes/{info.kebab}/dataPoints/{point.point_id}"
            body["dataPointName" if reconciled else "name"] = name
        if not reconciled:
            body["dataSource"] = point.source
        body[info.value_key] = point.value
        return body


EXERCISES = {  # exerciseType -> (display name, MET, speed m/s, steps a minute)
    "WALKING": ("Walk", 3.5, 1.35, 105), "RUNNING": ("Run", 9.8, 2.9, 160),
    "BIKING": ("Outdoor Bike", 7.5, 5.5, 0), "STRENGTH_TRAINING": ("Weights", 5.0, 0, 0),
}


def _phone_minutes(day: date, minutes: list[int]) -> set[int]:
    """The watch's walking minutes the phone also counted that day (its own counts): every 9th, from a daily shift."""
    if not minutes:
        return set()
    shift = int(hashlib.sha256(day.isoformat().encode()).hexdigest()[:4], 16) % 9
    return set(minutes[shift::9])


class _ExtraMetrics:
    """Daily HRV and SpO2 (the generator's own when it has them) and the daily workout, from the same calendar."""

    def __init__(self, health: FitbitHealth):
        self.health = health
        self.seed = health.life.config.seed
        self.given_hrv = _first_mapping(health, ("hrv", "hrv_rmssd", "heart_rate_variability"))
        self.given_spo2 = _first_mapping(health, ("spo2", "oxygen_saturation"))

    def _rng(self, domain: str, day: date) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}:{domain}:{day.isoformat()}".encode()).hexdigest()
        return random.Random(int(digest[:16], 16))

    def hrv(self, day: date) -> float | None:
        if self.given_hrv is not None:
            value = self.given_hrv.get(day)
            return None if value is None else float(value["rmssd"] if isinstance(value, dict) else value)
        if day not in self.health.worn_days:
            return None
        life = self.health.life
        rng = self._rng("hrv", day)
        return round(38 + 10 * life.fraction(day) - (9 if life.is_sick(day) else 0) + rng.gauss(0, 3.5), 1)

    def spo2(self, day: date) -> float | None:
        if self.given_spo2 is not None:
            value = self.given_spo2.get(day)
            return None if value is None else float(value["average"] if isinstance(value, dict) else value)
        if day not in self.health.worn_days:
            return None
        rng = self._rng("spo2", day)
        return round(min(99.5, 96.4 - (1.2 if self.health.life.is_sick(day) else 0) + rng.gauss(0, 0.7)), 1)

    def workout(self, day: date) -> tuple[datetime, int, str] | None:
        """About one day in three: a session at the heart-rate generator's exercise bout (its local start, minutes, type)."""
        if day not in self.health.worn_days or self.health.life.is_sick(day):
            return None
        rng = self._rng("exercise", day)
        if rng.random() > 0.35:
            return None
        start_hour, hours = _heart_rate_bout(self.health, day)
        start = datetime.combine(day, time()) + timedelta(seconds=round(start_hour * 3600))
        kind = rng.choice(list(EXERCISES))
        return start.replace(microsecond=0), max(15, round(hours * 60)), kind


def _first_mapping(health: FitbitHealth, names: tuple[str, ...]) -> dict | None:
    for name in names:
        value = getattr(health, name, None)
        if isinstance(value, dict):
            return value
    return None


def _heart_rate_bout(health: FitbitHealth, day: date) -> tuple[float, float]:
    """The (start hour, duration in hours) of the workout bout FitbitHealth.heart_rate draws for `day`,
    replaying its random draws in order (the bout shows in the heart rate as +45 to 75 bpm)."""
    mean = health.heart_rate_interval
    rng = np.random.default_rng([health._seed, day.toordinal(), 7])
    rng.integers(1, 2 * mean, size=int(86_400 / mean * 1.2) + 10)
    rng.integers(0, mean)
    rng.integers(17 * 3600, 21 * 3600)
    rng.integers(2400, 4800)
    bout = float(rng.uniform(7, 19))
    return bout, float(rng.uniform(0.4, 1.0))

"""Generates the synthetic person's Fitbit data: sleep logs, daily steps, per-second heart rate, resting HR, weight,
nightly HRV and SpO2, and the time zone they live in (every time here is local wall-clock time in that zone)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from sandbox.life import SyntheticLife

FITBIT_TS = "%Y-%m-%dT%H:%M:%S.000"
HEIGHT_M = 1.78
# UTC+10 all year: a local day's heart-rate file straddles UTC midnight (like the published UTC+11 example), and
# without DST every local day has 24 hours, so day-level oracles stay simple. Any IANA zone works.
DEFAULT_TIMEZONE = "Australia/Brisbane"
# stage sequences of one ~90 minute cycle: (level, min minutes, max minutes)
_CYCLE = [("light", 15, 35), ("deep", 8, 30), ("light", 8, 20), ("rem", 8, 30)]


@dataclass
class HeartRateDay:
    """One day of irregular per-second samples: seconds after local midnight, bpm, confidence (0-3)."""

    day: date
    seconds: np.ndarray
    bpm: np.ndarray
    confidence: np.ndarray

    def __len__(self) -> int:
        return len(self.seconds)


@dataclass
class FitbitHealth:
    """Ground truth for every Fitbit replica: what the API serves and what an export contains."""

    life: SyntheticLife
    sleep: list[dict]
    steps: dict[date, int]
    minute_steps: dict[date, dict[int, int]]
    resting_heart_rate: dict[date, float]
    weight: list[dict]
    worn_days: set[date]
    heart_rate_interval: int = 4
    _seed: int = field(default=0, repr=False)
    timezone: str = "UTC"  # the IANA zone the person lives in; every time above is wall-clock time there
    hrv: dict[date, float] = field(default_factory=dict)  # nightly RMSSD (ms), by the morning the night ended
    spo2: dict[date, float] = field(default_factory=dict)  # nightly average SpO2 (percent), same dates

    def utc_offset_minutes(self, local: datetime) -> int:
        """Local minus UTC at a wall-clock time (zoneinfo's fold=0 for ambiguous or skipped times)."""
        return int(local.replace(tzinfo=ZoneInfo(self.timezone)).utcoffset() / timedelta(minutes=1))

    def to_utc(self, local: datetime) -> datetime:
        """The instant of a wall-clock time, as an aware UTC datetime."""
        return local.replace(tzinfo=ZoneInfo(self.timezone)).astimezone(UTC)

    def heart_rate(self, d: date) -> HeartRateDay:
        """Per-second samples of one day, regenerated on demand (a year is ~7.5 M samples; never held at once)."""
        rng = np.random.default_rng([self._seed, d.toordinal(), 7])
        if d not in self.worn_days:
            empty = np.empty(0, dtype=np.int32)
            return HeartRateDay(d, empty, empty.astype(np.int16), empty.astype(np.int8))
        mean = self.heart_rate_interval
        gaps = rng.integers(1, 2 * mean, size=int(86_400 / mean * 1.2) + 10)
        seconds = np.cumsum(gaps) + int(rng.integers(0, mean))
        seconds = seconds[seconds < 86_400]
        # off the wrist for a shower/charge: about an hour without samples
        off_start = int(rng.integers(17 * 3600, 21 * 3600))
        seconds = seconds[(seconds < off_start) | (seconds >= off_start + int(rng.integers(2400, 4800)))]
        hours = seconds / 3600.0
        resting = self.resting_heart_rate.get(d, 62.0)
        # daily rhythm: low asleep, a morning rise, a daytime plateau, an evening wind-down
        rhythm = np.interp(hours, [0, 5, 7, 9, 13, 18, 22, 24], [-4, -6, 4, 14, 16, 12, 5, -3])
        bout = float(rng.uniform(7, 19))
        exercise = np.where((hours >= bout) & (hours < bout + rng.uniform(0.4, 1.0)), rng.uniform(45, 75), 0.0)
        bpm = np.clip(np.rint(resting + rhythm + exercise + rng.normal(0, 3, len(seconds))), 38, 200).astype(np.int16)
        confidence = rng.choice(np.array([0, 1, 2, 3], dtype=np.int8), size=len(seconds), p=[0.02, 0.08, 0.4, 0.5])
        return HeartRateDay(d, seconds.astype(np.int32), bpm, confidence)


def _sleep_levels(rng: random.Random, start: datetime, minutes: int, classic: bool) -> list[tuple[str, int]]:
    """Consecutive (level, seconds) segments filling `minutes`, in 30-second epochs like the device."""
    segments: list[tuple[str, int]] = []
    left = minutes * 60
    if classic:
        names = [("asleep", 30, 90), ("restless", 1, 6), ("asleep", 20, 60), ("awake", 1, 3)]
        segments.append(("awake", rng.randint(2, 10) * 60))
    else:
        names = _CYCLE
        segments.append(("wake", rng.randint(2, 15) * 60))
    left -= segments[0][1]
    i = 0
    while left > 0:
        level, lo, hi = names[i % len(names)]
        secs = min(left, rng.randint(lo, hi) * 60 + rng.choice([0, 30]))
        segments.append((level, secs))
        left -= secs
        i += 1
        if not classic and i % 4 == 0 and left > 0 and rng.random() < 0.5:
            secs = min(left, rng.randint(1, 5) * 60)
            segments.append(("wake", secs))
            left -= secs
    return segments


def _sleep_log_id(wake_day: date) -> int:
    """A night's logId from the day it ends (its nap: + 1), as Fitbit's ids follow time: the same night keeps its id
    when the life is generated again a day later (the demo's life ends yesterday), never another night's."""
    return 10_000_000_000 + wake_day.toordinal() * 10


def _sleep_log(rng: random.Random, log_id: int, start: datetime, minutes: int, classic: bool, main: bool) -> dict:
    """A sleep log as the API's /1.2/ sleep endpoints return it (stages or classic)."""
    end = start + timedelta(minutes=minutes)
    segments = _sleep_levels(rng, start, minutes, classic)
    data, at = [], start
    for level, secs in segments:
        data.append({"dateTime": at.strftime(FITBIT_TS), "level": level, "seconds": secs})
        at += timedelta(seconds=secs)
    levels = ("asleep", "restless", "awake") if classic else ("deep", "light", "rem", "wake")
    summary = {lv: {"count": sum(1 for s in segments if s[0] == lv),
                    "minutes": round(sum(s[1] for s in segments if s[0] == lv) / 60)} for lv in levels}
    if classic:
        asleep, awake = summary["asleep"]["minutes"], summary["restless"]["minutes"] + summary["awake"]["minutes"]
    else:
        asleep = summary["deep"]["minutes"] + summary["light"]["minutes"] + summary["rem"]["minutes"]
        awake = summary["wake"]["minutes"]
    return {
        "dateOfSleep": end.date().isoformat(), "duration": minutes * 60_000,
        "efficiency": round(100 * asleep / max(1, asleep + awake)),
        "startTime": start.strftime(FITBIT_TS), "endTime": end.strftime(FITBIT_TS),
        "infoCode": 0, "isMainSleep": main, "logId": log_id, "minutesAfterWakeup": 0,
        "minutesAsleep": asleep, "minutesAwake": awake, "minutesToFallAsleep": segments[0][1] // 60,
        "timeInBed": minutes, "type": "classic" if classic else "stages",
        "levels": {"data": data, "shortData": [], "summary": summary},
    }


def generate_health(life: SyntheticLife, heart_rate_interval: int = 4, timezone: str = DEFAULT_TIMEZONE) -> FitbitHealth:
    """The person's Fitbit year, derived from the shared calendar (sick week, holidays, weekends)."""
    rng = life.rng("health")
    seed = life.config.seed
    worn = {d for d in life.dates() if rng.random() > 0.03}
    sleep, steps, minute_steps, resting, weight = [], {}, {}, {}, []
    kg = 79.0
    for d in life.dates():
        sick, weekend = life.is_sick(d), life.is_weekend(d)
        if d in worn:
            resting[d] = round(60.5 - 3 * life.fraction(d) + (6 if sick else 0) + rng.gauss(0, 1.2), 2)
            if sick:
                total = rng.randint(1500, 3500)
            else:
                total = max(800, int(rng.gauss(10_500 if weekend or life.is_on_holiday(d) else 8_500, 2_500)))
            steps[d] = total
            minute_steps[d] = _spread_steps(rng, total)
            # the night that ends this morning: in bed ~23:00 the evening before, later at weekends
            bed = datetime.combine(d - timedelta(days=1), time(22, 0)) + timedelta(
                minutes=rng.randint(30, 90) + (45 if weekend else 0), seconds=rng.choice([0, 30]))
            minutes = max(240, int(rng.gauss(480 if sick else 440, 45)))
            sleep.append(_sleep_log(rng, _sleep_log_id(d), bed, minutes, rng.random() < 0.08, True))
            if rng.random() < (0.3 if sick else 0.06):
                nap = datetime.combine(d, time(14, rng.randint(0, 59)))
                sleep.append(_sleep_log(rng, _sleep_log_id(d) + 1, nap, rng.randint(20, 70), True, False))
        kg += rng.gauss(-0.008, 0.05)
        if rng.random() < 0.4:
            logged = datetime.combine(d, time(7, rng.randint(0, 40), rng.randint(0, 59)))
            w = round(kg + rng.gauss(0, 0.3), 1)
            weight.append({"bmi": round(w / HEIGHT_M**2, 2), "date": d.isoformat(),
                           "fat": round(rng.gauss(21, 0.8), 1) if rng.random() < 0.7 else None,
                           "logId": int(logged.timestamp() * 1000), "source": "Aria",
                           "time": logged.strftime("%H:%M:%S"), "weight": w})
    hrv, spo2 = _nightly_vitals(life, worn, seed)
    return FitbitHealth(life, sleep, steps, minute_steps, resting, weight, worn, heart_rate_interval, seed,
                        timezone, hrv, spo2)


def _nightly_vitals(life: SyntheticLife, worn: set[date], seed: int) -> tuple[dict[date, float], dict[date, float]]:
    """HRV and SpO2 of each worn night, from their own random stream (the other series stay as they were)."""
    rng = np.random.default_rng([seed, 11])
    hrv, spo2 = {}, {}
    for d in sorted(worn):
        sick = life.is_sick(d)
        hrv[d] = round(float(np.clip(44.0 - (9 if sick else 0) + rng.normal(0, 5), 15, 120)), 1)
        spo2[d] = round(float(np.clip(95.8 - (1.2 if sick else 0) + rng.normal(0, 0.6), 88, 100)), 1)
    return hrv, spo2


def _spread_steps(rng: random.Random, total: int) -> dict[int, int]:
    """A day's steps spread over walking minutes between 07:00 and 21:59 (minute of day -> steps)."""
    count = min(600, max(10, total // 90))
    minutes = sorted(rng.sample(range(7 * 60, 22 * 60), count))
    per = [total // count] * count
    for k in range(total - sum(per)):
        per[k % count] += 1
    return dict(zip(minutes, per, strict=True))

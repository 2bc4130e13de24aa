"""The synthetic person's energy, activity levels, exercise sessions and sleep scores: the ground truth the
export writer (sandbox/fitbit_export.py) writes and the tests compare the marts against.

Everything derives from `FitbitHealth` and from the Google Health replica's workout of the day
(`sandbox.google_health_data._ExtraMetrics.workout`, the heart-rate generator's exercise bout), so the export and
the API describe the same sessions with the same metrics (an exercise in both counts once downstream).

Per worn local day: calories per minute (kcal, BMR 1.15 a minute plus 0.05 a step plus the workout's MET x 75 kg
/ 60 a minute; rounded to 2 decimals, as the files write them); activity levels per minute (workout minutes are
`very` at MET >= 6, else `moderate`; other minutes with steps are `moderate` from 100 steps, else `light`);
sedentary minutes are the day's 1,440 less active minutes and the sleep that ended that day. Unworn days have none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

import numpy as np

from sandbox.fitbit_data import FitbitHealth
from sandbox.google_health_data import EXERCISES, _ExtraMetrics

BMR_KCAL_PER_MINUTE = 1.15
KCAL_PER_STEP = 0.05
BODY_KG = 75
# Fitbit's activity type ids of the replica's exercise types (Web API activity catalogue)
ACTIVITY_TYPE_IDS = {"WALKING": 90013, "RUNNING": 90009, "BIKING": 90001, "STRENGTH_TRAINING": 2131}


@dataclass(frozen=True)
class Exercise:
    """One session as both sources report it (local start; metrics as the API's metricsSummary has them)."""

    log_id: int
    day: date
    start_local: datetime
    minutes: int
    exercise_type: str  # the API's enum, e.g. WALKING
    name: str  # the export's activityName / the API's displayName, e.g. Walk
    calories_kcal: float
    distance_m: float | None
    steps: int | None
    average_heart_rate_bpm: int

    @property
    def end_local(self) -> datetime:
        return self.start_local + timedelta(minutes=self.minutes)


@dataclass(frozen=True)
class ActivityDay:
    day: date
    calories: np.ndarray  # 1,440 per-minute kcal, index = minute after local midnight
    minute_levels: dict[int, str]  # active minutes only: minute after local midnight -> light | moderate | very
    sedentary_minutes: int

    def minutes(self, level: str) -> int:
        if level == "sedentary":
            return self.sedentary_minutes
        return sum(1 for lv in self.minute_levels.values() if lv == level)

    @property
    def calories_kcal(self) -> float:
        return round(float(self.calories.sum()), 2)


class FitbitActivity:
    """Per-day energy and activity, the day's exercise and each main sleep's score, computed on demand."""

    def __init__(self, health: FitbitHealth):
        self.health = health
        self._extra = _ExtraMetrics(health)

    def exercise(self, day: date) -> Exercise | None:
        workout = self._extra.workout(day)
        if workout is None:
            return None
        start, minutes, kind = workout
        name, met, speed_m_s, cadence = EXERCISES[kind]
        return Exercise(
            log_id=60_000_000_000 + day.toordinal(), day=day, start_local=start, minutes=minutes, exercise_type=kind,
            name=name, calories_kcal=round(met * BODY_KG * minutes / 60, 1),
            distance_m=round(speed_m_s * minutes * 60, 3) if speed_m_s else None,
            steps=round(cadence * minutes) if cadence else None,
            average_heart_rate_bpm=round(self.health.resting_heart_rate.get(day, 62.0) + 55))

    @cached_property
    def exercises(self) -> list[Exercise]:
        return [e for e in (self.exercise(d) for d in self.health.life.dates()) if e is not None]

    def day(self, d: date) -> ActivityDay | None:
        h = self.health
        if d not in h.worn_days:
            return None
        calories = np.full(1440, BMR_KCAL_PER_MINUTE)
        levels: dict[int, str] = {}
        for minute, steps in h.minute_steps.get(d, {}).items():
            calories[minute] += KCAL_PER_STEP * steps
            levels[minute] = "moderate" if steps >= 100 else "light"
        session = self.exercise(d)
        if session is not None:
            _name, met, _speed, _cadence = EXERCISES[session.exercise_type]
            first = session.start_local.hour * 60 + session.start_local.minute
            for minute in range(first, min(1440, first + session.minutes)):
                calories[minute] = met * BODY_KG / 60  # the session's energy, BMR included
                levels[minute] = "very" if met >= 6 else "moderate"
        asleep = sum(log["minutesAsleep"] for log in h.sleep if log["dateOfSleep"] == d.isoformat())
        return ActivityDay(d, np.round(calories, 2), levels, max(0, 1440 - len(levels) - asleep))

    @cached_property
    def days(self) -> dict[date, ActivityDay]:
        return {d: a for d in self.health.life.dates() if (a := self.day(d)) is not None}

    @cached_property
    def sleep_scores(self) -> dict[int, dict]:
        """Main sleeps' scores by logId: overall = duration (max 50) + composition (max 25) + revitalization."""
        scores = {}
        for log in self.health.sleep:
            if not log["isMainSleep"]:
                continue
            summary = log["levels"]["summary"]
            asleep = max(1, log["minutesAsleep"])
            deep_rem = summary.get("deep", {}).get("minutes", 0) + summary.get("rem", {}).get("minutes", 0)
            duration = min(50, round(asleep / 480 * 50))
            composition = min(25, round(deep_rem / asleep / 0.4 * 25)) if log["type"] == "stages" else 15
            revitalization = 15 + log["logId"] // 10 % 8
            scores[log["logId"]] = {"overall": duration + composition + revitalization, "duration": duration,
                                    "composition": composition, "revitalization": revitalization,
                                    "deep": summary.get("deep", {}).get("minutes")}
        return scores

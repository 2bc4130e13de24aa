"""The synthetic person: one deterministic calendar of a life that every API replica draws from."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True)
class LifeConfig:
    """Seed, first day and number of days of the synthetic life."""

    seed: int = 42
    start: date = date(2025, 1, 1)
    days: int = 365

    @property
    def end(self) -> date:
        """Last day (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    @classmethod
    def ending_yesterday(cls, seed: int = 42, days: int = 365) -> LifeConfig:
        """A life whose last day is yesterday (UTC), so the demo data looks fresh."""
        today = datetime.now(UTC).date()
        return cls(seed=seed, start=today - timedelta(days=days), days=days)


@dataclass
class SyntheticLife:
    """Calendar facts shared by all replicas: sick week, holidays, a per-domain random stream."""

    config: LifeConfig = field(default_factory=LifeConfig)

    def __post_init__(self) -> None:
        rng = self.rng("calendar")
        days = self.config.days
        sick_start = int(days * 0.4) + rng.randint(0, max(1, days // 20))
        self.sick_days = {self.day(i) for i in range(sick_start, min(days, sick_start + 7))}
        holiday_start = int(days * 0.6) + rng.randint(0, max(1, days // 20))
        self.holiday_days = {self.day(i) for i in range(holiday_start, min(days, holiday_start + 10))}

    def rng(self, domain: str) -> random.Random:
        """An independent, reproducible random stream per domain (habits, crm, health...)."""
        digest = hashlib.sha256(f"{self.config.seed}:{domain}".encode()).hexdigest()
        return random.Random(int(digest[:16], 16))

    def day(self, index: int) -> date:
        return self.config.start + timedelta(days=index)

    def dates(self) -> list[date]:
        return [self.day(i) for i in range(self.config.days)]

    def fraction(self, d: date) -> float:
        """How far through the life a day is, 0..1 (for habits added or renamed 'mid-year')."""
        return (d - self.config.start).days / max(1, self.config.days - 1)

    @staticmethod
    def is_weekend(d: date) -> bool:
        return d.weekday() >= 5

    def is_sick(self, d: date) -> bool:
        return d in self.sick_days

    def is_on_holiday(self, d: date) -> bool:
        return d in self.holiday_days

    @staticmethod
    def at(d: date, hour: int, minute: int = 0) -> datetime:
        """A UTC timestamp on day d."""
        return datetime.combine(d, time(hour % 24, minute), tzinfo=UTC) + timedelta(days=hour // 24)


def stable_uuid(*parts: object) -> str:
    """A UUID-shaped id derived from its parts, so ids survive regeneration."""
    h = hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"

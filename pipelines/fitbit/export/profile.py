"""The export's settings: the time zone its times are read in and the unit its weights are written in.

Both come from the export's profile (`Your Profile/Profile.csv`: columns `timezone`, e.g. `Australia/Sydney`,
`weight_unit` (`METRIC`, `en_US`, `en_GB`) and `height` in cm), unless configured: `sources.fitbit_export.timezone`
(or `--timezone`) and `sources.fitbit_export.weight_unit` (kg, lb, st, or the profile's own words) win. The run
log says which zone and unit were used and where they came from.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from pipelines.common.errors import SourceError

LB_KG = 0.45359237
ST_KG = 6.35029318
UNIT_KG = {"kg": 1.0, "lb": LB_KG, "st": ST_KG, "g": 0.001}
# Fitbit's unit systems: METRIC (kg), en_US (pounds), en_GB (stone, the Fitbit Web API's unit table)
_UNIT_WORDS = {"metric": "kg", "kg": "kg", "kilogram": "kg", "kilograms": "kg", "en_us": "lb", "lb": "lb",
               "lbs": "lb", "pound": "lb", "pounds": "lb", "en_gb": "st", "st": "st", "stone": "st"}
# heights a BMI can imply for an adult: outside this, that unit cannot be the weight's
_PLAUSIBLE_HEIGHT_M = (1.3, 2.2)


@dataclass(frozen=True)
class Profile:
    timezone: str | None = None
    weight_unit: str | None = None  # kg | lb | st, as the profile says
    height_m: float | None = None
    raw_weight_unit: str | None = None


def read_profile(data: bytes) -> Profile:
    """The first row of Profile.csv, columns by name; unknown or empty values are None."""
    text = data.decode("utf-8-sig", errors="replace")
    row = next(csv.DictReader(io.StringIO(text)), None) or {}
    row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
    zone = row.get("timezone") or None
    raw_unit = row.get("weight_unit") or None
    try:
        height_cm = float(row.get("height") or "nan")
    except ValueError:
        height_cm = math.nan
    return Profile(timezone=zone if zone and zone.lower() != "null" else None,
                   weight_unit=unit_from_word(raw_unit), raw_weight_unit=raw_unit,
                   height_m=height_cm / 100 if height_cm and not math.isnan(height_cm) and height_cm > 50 else None)


def unit_from_word(word: str | None) -> str | None:
    return _UNIT_WORDS.get((word or "").strip().lower())


@dataclass(frozen=True)
class Setting:
    value: str | None
    source: str  # where it came from, for the run log


def resolve_timezone(configured: str | None, profile: Profile | None) -> Setting:
    if configured:
        setting = Setting(configured, "--timezone / sources.fitbit_export.timezone")
    elif profile and profile.timezone:
        setting = Setting(profile.timezone, "the export's Your Profile/Profile.csv")
    else:
        return Setting("UTC", "default: neither the export's profile nor sources.fitbit_export.timezone names one")
    try:
        ZoneInfo(setting.value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SourceError(f"unknown time zone {setting.value!r} (from {setting.source}): use an IANA name such as "
                          f"Europe/Berlin") from None
    return setting


def resolve_weight_unit(configured: str | None, profile: Profile | None) -> Setting:
    if configured:
        unit = unit_from_word(configured)
        if unit is None:
            raise SourceError(f"unknown sources.fitbit_export.weight_unit {configured!r}: use kg, lb or st")
        return Setting(unit, "--weight-unit / sources.fitbit_export.weight_unit")
    if profile and profile.weight_unit:
        return Setting(profile.weight_unit, f"the export's profile (weight_unit {profile.raw_weight_unit})")
    return Setting(None, "per weigh-in from its BMI (no unit in the profile or configuration)")


def unit_from_bmi(weight: float | None, bmi: float | None, height_m: float | None = None) -> str | None:
    """The unit a weigh-in must be in for its BMI to make sense (the export writes no unit).

    With the profile's height: the unit whose weight gives that BMI (within 4 %). Without it: the unit for which
    the height the BMI implies (sqrt(kg / BMI)) is an adult's; None when no unit, or more than one, fits.
    """
    if not weight or not bmi or weight <= 0 or bmi <= 0:
        return None
    fits = []
    for unit in ("kg", "lb", "st"):
        implied = math.sqrt(weight * UNIT_KG[unit] / bmi)
        if height_m:
            if abs(implied - height_m) / height_m <= 0.04:
                fits.append(unit)
        elif _PLAUSIBLE_HEIGHT_M[0] <= implied <= _PLAUSIBLE_HEIGHT_M[1]:
            fits.append(unit)
    return fits[0] if len(fits) == 1 else None


class ZoneClock:
    """UTC <-> local wall time in one IANA zone, for whole Arrow/numpy columns at once.

    The zone's offset is a step function of the instant: its steps (DST changes) over the needed span are
    found once with zoneinfo, then a column maps with one binary search per value. Wall times that occur twice
    (the hour after clocks go back) take the first; wall times that do not exist (clocks go forward) the offset
    before the change, as zoneinfo does with fold=0.
    """

    def __init__(self, name: str):
        self.name = name
        self.zone = ZoneInfo(name)
        self._span: tuple[int, int] | None = None
        self._starts = np.zeros(1, dtype=np.int64)  # UTC microseconds where an offset starts
        self._offsets = np.zeros(1, dtype=np.int64)  # minutes

    def _cover(self, lo_us: int, hi_us: int) -> None:
        if self._span and self._span[0] <= lo_us and hi_us <= self._span[1]:
            return
        day_us = 86_400_000_000
        lo, hi = lo_us - 2 * day_us, hi_us + 2 * day_us
        if self._span:
            lo, hi = min(lo, self._span[0]), max(hi, self._span[1])
        starts, offsets = [lo], [self._utc_offset(lo)]
        t = lo
        while t < hi:
            nxt = min(t + day_us, hi)
            if self._utc_offset(nxt) != offsets[-1]:
                a, b = t, nxt  # the change lies in (a, b]: search it to the second
                while b - a > 1_000_000:
                    mid = (a + b) // 2
                    if self._utc_offset(mid) == offsets[-1]:
                        a = mid
                    else:
                        b = mid
                starts.append(b)
                offsets.append(self._utc_offset(b))
            t = nxt
        self._span = (lo, hi)
        self._starts = np.array(starts, dtype=np.int64)
        self._offsets = np.array(offsets, dtype=np.int64)

    def _utc_offset(self, utc_us: int) -> int:
        at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(utc_us))
        return int(at.astimezone(self.zone).utcoffset() / timedelta(minutes=1))

    def utc_to_local(self, utc_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(local wall-clock microseconds, offset minutes) of UTC microseconds."""
        if not len(utc_us):
            return utc_us.copy(), np.zeros(0, dtype=np.int32)
        self._cover(int(utc_us.min()), int(utc_us.max()))
        idx = np.searchsorted(self._starts, utc_us, side="right") - 1
        offsets = self._offsets[idx]
        return utc_us + offsets * 60_000_000, offsets.astype(np.int32)

    def local_to_utc(self, local_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(UTC microseconds, offset minutes) of local wall-clock microseconds."""
        if not len(local_us):
            return local_us.copy(), np.zeros(0, dtype=np.int32)
        self._cover(int(local_us.min()) - 86_400_000_000, int(local_us.max()) + 86_400_000_000)
        local_starts = self._starts + self._offsets * 60_000_000
        idx = np.searchsorted(local_starts, local_us, side="right") - 1
        idx = np.clip(idx, 0, len(self._starts) - 1)
        # a wall time the previous offset also reaches (clocks went back): the earlier instant, like fold=0
        prev = np.clip(idx - 1, 0, None)
        earlier = (idx > 0) & (local_us < self._starts[idx] + self._offsets[prev] * 60_000_000)
        idx = np.where(earlier, prev, idx)
        offsets = self._offsets[idx]
        return local_us - offsets * 60_000_000, offsets.astype(np.int32)

    def local_datetime_to_utc(self, local: datetime) -> tuple[datetime, int]:
        """One wall time (naive) -> (UTC instant, offset minutes), fold=0 like zoneinfo."""
        aware = local.replace(tzinfo=self.zone)
        offset = int(aware.utcoffset() / timedelta(minutes=1))
        return (local - timedelta(minutes=offset)).replace(tzinfo=UTC), offset

    def utc_datetime_to_local(self, at_utc: datetime) -> tuple[datetime, int]:
        local = at_utc.astimezone(self.zone)
        return local.replace(tzinfo=None), int(local.utcoffset() / timedelta(minutes=1))

    def midnight_offsets(self, days: list[date]) -> dict[date, int]:
        """The offset at local midnight of each day (for telling which UTC days a local day touches)."""
        return {d: self.local_datetime_to_utc(datetime.combine(d, datetime.min.time()))[1] for d in days}

"""Writes the synthetic person's Fitbit data as a Google Takeout export (folder, zip, tgz or split zips).

Shapes follow the public evidence in shared/api-reference.md section 5 and the contract fixtures in
tests/fixtures/takeout/ (which win when the two disagree):
- JSON layout (`Global Export Data`): intraday heart-rate and steps stamps `MM/DD/YY HH:MM:SS` in UTC; one
  heart-rate file per *local* day (so it straddles UTC midnight); steps files hold a month and overlap the next
  month's first days; sleep start/end in local wall time; resting heart rate 0 on days without a measurement;
  weight in the account's unit with no unit field (kg, or lb for an `en_US` account).
- CSV layout (2024-2026 exports): `Physical Activity_GoogleData/heart_rate_YYYY-MM-DD.csv` per UTC day
  (`timestamp,beats per minute,data source`, stamps with Z), monthly `steps_YYYY-MM-DD.csv`, `weight.csv` in
  grams, `daily_resting_heart_rate.csv`, `Health Fitness Data_GoogleData/UserSleeps_*.csv` and
  `UserSleepStages_*.csv` (UTC times with explicit offsets).
- Both: `Your Profile/Profile.csv` (time zone, weight unit, height), nightly HRV and SpO2 CSV files,
  `Sleep Score/sleep_score.csv` (main sleeps, keyed by the JSON logId, stamped with the wake-up instant), and a
  few kinds the import does not read (distance, paired devices).
- Energy and activity (sandbox/fitbit_activity.py is their ground truth): JSON `calories-YYYY-MM-DD.json` (a
  month of per-minute kcal as strings, UTC stamps like steps), `very_active_minutes-`, `moderately_active_minutes-`,
  `lightly_active_minutes-`, `sedentary_minutes-YYYY-MM-DD.json` (a month of daily values as strings, local dates;
  the last file padded with future days of 1,440 sedentary minutes, as real files are) and `exercise-0.json`,
  `exercise-100.json`, ... (100 activity logs each: Web API log fields, `startTime` `MM/DD/YY HH:MM:SS` in UTC,
  `distance` in km with `distanceUnit`); CSV `calories_YYYY-MM-DD.csv` (`timestamp,calories,data source`),
  `active_minutes_YYYY-MM-DD.csv` (`timestamp,light,moderate,very,data source`, one row per active minute) and
  `Health Fitness Data_GoogleData/UserExercises_1.csv` (`exercise_id,exercise_start,exercise_end,utc_offset,
  activity_name,log_type,tracker_total_calories,tracker_total_steps,tracker_total_distance_mm,
  tracker_avg_heart_rate,...`).
"""

from __future__ import annotations

import csv
import json
import shutil
import tarfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa

from sandbox.fitbit_activity import ACTIVITY_TYPE_IDS, FitbitActivity
from sandbox.fitbit_data import HEIGHT_M, FitbitHealth

EXPORT_FOLDER = Path("Takeout") / "Fitbit" / "Global Export Data"  # the JSON folder of the default layout
JSON_FOLDER = "Global Export Data"
ACTIVITY_FOLDER = "Physical Activity_GoogleData"
HEALTH_FOLDER = "Health Fitness Data_GoogleData"
EXPORT_TS = "%m/%d/%y %H:%M:%S"
CSV_TS = "%Y-%m-%dT%H:%M:%SZ"
SLEEP_TS = "%Y-%m-%d %H:%M:%S+0000"  # UserSleeps / UserSleepStages: UTC, offset written out
LB_KG = 0.45359237
STEPS_OVERLAP_DAYS = 3  # a month's steps file also holds the next month's first days, as real files overlap
DEVICE = "Charge 6"
PROFILE_HEADER = ["id", "full_name", "first_name", "last_name", "display_name_setting", "display_name", "username",
                  "email_address", "date_of_birth", "child", "country", "state", "city", "timezone", "locale",
                  "member_since", "about_me", "start_of_week", "sleep_tracking", "time_display_format", "gender",
                  "height", "weight", "stride_length_walking", "stride_length_running", "weight_unit",
                  "distance_unit", "height_unit", "water_unit", "glucose_unit", "swim_unit"]


@dataclass
class ExportManifest:
    """Where the export was written and what it holds (the ground truth import tests compare against)."""

    path: Path  # what to import: the folder, the zip/tgz, or the folder holding the parts
    folder: Path  # the JSON layout's folder (Global Export Data) when unpacked
    root: Path | None = None  # the product folder (Takeout/Fitbit) when unpacked
    files: dict[str, str] = field(default_factory=dict)  # "<folder>/<name>" -> kind
    rows: dict[str, int] = field(default_factory=dict)
    layout: str = "json"
    timezone: str = "UTC"
    weight_unit: str = "kg"

    def file(self, source_file: str) -> Path:
        return self.root / source_file


def write_export(health: FitbitHealth, dest: Path, heart_rate: bool = True, as_zip: bool = False, *,
                 layout: str = "json", weight_unit: str = "kg", root: str = "Fitbit", as_tgz: bool = False,
                 parts: int = 1, profile: bool = True, unread_kinds: bool = True) -> ExportManifest:
    """Write the export under `dest/Takeout/<root>/`.

    layout: "json" (Global Export Data), "csv" (the 2024-2026 *_GoogleData files) or "both" (a mixed export,
    the same data in both). weight_unit: "kg" (METRIC account) or "lb" (en_US account). as_zip / as_tgz pack it
    as takeout.zip / takeout.tgz; parts > 1 splits it into Takeout-named zip parts in `dest/parts/`.
    """
    if layout not in ("json", "csv", "both"):
        raise ValueError(f"layout must be json, csv or both, not {layout!r}")
    dest = Path(dest)
    product = dest / "Takeout" / root
    manifest = ExportManifest(path=dest, folder=product / JSON_FOLDER, root=product, layout=layout,
                              timezone=health.timezone, weight_unit=weight_unit)
    writer = _Writer(health, product, manifest)
    if profile:
        writer.profile(weight_unit)
    if layout in ("json", "both"):
        writer.json_layout(weight_unit, heart_rate)
    if layout in ("csv", "both"):
        writer.csv_layout(heart_rate)
    writer.nightly_vitals()
    writer.sleep_scores()
    if unread_kinds:
        writer.unread_kinds()
    manifest.rows.update({"sleep": len(health.sleep), "steps_days": len(health.steps),
                          "resting_heart_rate_days": len(health.resting_heart_rate), "weight": len(health.weight),
                          "hrv_days": len(health.hrv), "spo2_days": len(health.spo2),
                          "steps_minutes": sum(len(m) for m in health.minute_steps.values()),
                          "heart_rate": sum(len(health.heart_rate(d)) for d in health.worn_days) if heart_rate else 0})
    if as_zip or as_tgz or parts > 1:
        _pack(manifest, dest, as_tgz=as_tgz, parts=parts)
    return manifest


def _export_levels(levels: dict) -> dict:
    """The export's levels: each summary level also carries its 30-day average (the API's does not here)."""
    summary = {lv: {**v, "thirtyDayAvgMinutes": v["minutes"]} for lv, v in levels["summary"].items()}
    return {**levels, "summary": summary}


def _pack(manifest: ExportManifest, dest: Path, as_tgz: bool, parts: int) -> None:
    takeout = dest / "Takeout"
    members = sorted(p for p in takeout.rglob("*") if p.is_file())
    if as_tgz:
        archive = dest / "takeout.tgz"
        with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
            for p in members:
                tar.add(p, str(p.relative_to(dest)))
    elif parts > 1:
        archive = dest / "parts"
        archive.mkdir()
        for i in range(parts):
            with zipfile.ZipFile(archive / f"takeout-20250101T000000Z-{i + 1:03d}.zip", "w", zipfile.ZIP_DEFLATED,
                                 compresslevel=1) as zf:
                for p in members[i::parts]:
                    zf.write(p, str(p.relative_to(dest)))
    else:
        archive = dest / "takeout.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for p in members:
                zf.write(p, str(p.relative_to(dest)))
    shutil.rmtree(takeout)
    manifest.path = archive


class _Writer:
    def __init__(self, health: FitbitHealth, product: Path, manifest: ExportManifest):
        self.health, self.product, self.manifest = health, product, manifest
        self.zone = ZoneInfo(health.timezone)
        self.activity = FitbitActivity(health)

    def _path(self, folder: str, name: str, kind: str) -> Path:
        (self.product / folder).mkdir(parents=True, exist_ok=True)
        self.manifest.files[f"{folder}/{name}"] = kind
        return self.product / folder / name

    def _json(self, folder: str, name: str, kind: str, payload: list) -> None:
        self._path(folder, name, kind).write_text(json.dumps(payload, separators=(",", ":")))

    def _csv(self, folder: str, name: str, kind: str, header: list[str], rows: list[list]) -> None:
        with open(self._path(folder, name, kind), "w", newline="") as out:
            w = csv.writer(out)
            w.writerow(header)
            w.writerows(rows)

    def _utc(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.zone).astimezone(UTC).replace(tzinfo=None)

    def _offset(self, local: datetime) -> str:
        minutes = int(local.replace(tzinfo=self.zone).utcoffset() / timedelta(minutes=1))
        sign = "-" if minutes < 0 else "+"
        return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"

    def _day_utc_seconds(self, d: date, seconds: np.ndarray) -> np.ndarray:
        """UTC epoch seconds of wall-clock seconds after local midnight of `d` (DST-aware, fold=0)."""
        midnight = datetime.combine(d, datetime.min.time())
        base = int(midnight.replace(tzinfo=UTC).timestamp())
        start = int(midnight.replace(tzinfo=self.zone).utcoffset().total_seconds())
        end = int((midnight + timedelta(seconds=86_399)).replace(tzinfo=self.zone).utcoffset().total_seconds())
        if start == end:
            return base + seconds.astype(np.int64) - start
        offsets = np.array([int((midnight + timedelta(seconds=int(s))).replace(tzinfo=self.zone).utcoffset()
                                .total_seconds()) for s in seconds], dtype=np.int64)
        return base + seconds.astype(np.int64) - offsets

    # ---- both layouts ----

    def profile(self, weight_unit: str) -> None:
        h = self.health
        values = {"id": "SYNTH42", "full_name": "Synthetic Person", "first_name": "Synthetic", "last_name": "Person",
                  "display_name_setting": "name", "display_name": "Synthetic P.", "username": "null",
                  "email_address": "synthetic@example.invalid", "date_of_birth": "1990-05-20", "child": "false",
                  "country": "null", "state": "null", "city": "null", "timezone": h.timezone,
                  "locale": "en_US" if weight_unit == "lb" else "en_AU", "member_since": "2019-03-02",
                  "about_me": "null", "start_of_week": "MONDAY", "sleep_tracking": "Normal",
                  "time_display_format": "24hour", "gender": "NA", "height": f"{HEIGHT_M * 100:.1f}",
                  "weight": f"{h.weight[0]['weight'] if h.weight else 79.0:.1f}", "stride_length_walking": "74.0",
                  "stride_length_running": "110.0", "weight_unit": "en_US" if weight_unit == "lb" else "METRIC",
                  "distance_unit": "en_US" if weight_unit == "lb" else "METRIC", "height_unit": "METRIC",
                  "water_unit": "METRIC", "glucose_unit": "METRIC", "swim_unit": "METRIC"}
        self._csv("Your Profile", "Profile.csv", "profile", PROFILE_HEADER, [[values[c] for c in PROFILE_HEADER]])

    def nightly_vitals(self) -> None:
        """HRV: one Daily Heart Rate Variability Summary file per night; SpO2: Daily SpO2 files of ~100 days."""
        h = self.health
        for d, rmssd in sorted(h.hrv.items()):
            suffix = f"{d:%Y-%m}-.csv" if d.day == 1 else f"{d:%Y-%m}-({d.day - 1}).csv"
            self._csv("Heart Rate Variability", f"Daily Heart Rate Variability Summary - {suffix}", "hrv",
                      ["timestamp", "rmssd", "nremhr", "entropy"],
                      [[f"{d.isoformat()}T00:00:00", f"{rmssd:.3f}", f"{h.resting_heart_rate.get(d, 60) - 3:.3f}",
                        "2.481"]])
        days = sorted(h.spo2)
        for i in range(0, len(days), 100):
            chunk = days[i:i + 100]
            self._csv("Oxygen Saturation (SpO2)", f"Daily SpO2 - {chunk[0]}-{chunk[-1]}.csv", "spo2",
                      ["timestamp", "average_value", "lower_bound", "upper_bound"],
                      [[f"{d.isoformat()}T00:00:00Z", f"{h.spo2[d]:.1f}", f"{h.spo2[d] - 2.1:.1f}",
                        f"{min(100.0, h.spo2[d] + 1.9):.1f}"] for d in chunk])

    def sleep_scores(self) -> None:
        """Sleep Score/sleep_score.csv: one row per scored main sleep, the wake-up instant as its timestamp."""
        scores = self.activity.sleep_scores
        rows = []
        for log in sorted(self.health.sleep, key=lambda s: s["endTime"]):
            score = scores.get(log["logId"])
            if score is None:
                continue
            end = self._utc(datetime.fromisoformat(log["endTime"][:19]))
            rows.append([log["logId"], end.strftime(CSV_TS), score["overall"], score["composition"],
                         score["revitalization"], score["duration"], score["deep"] if score["deep"] is not None else "",
                         f"{self.health.resting_heart_rate.get(date.fromisoformat(log['dateOfSleep']), 60.0):.0f}",
                         "0.08"])
        self._csv("Sleep Score", "sleep_score.csv", "sleep_score",
                  ["sleep_log_entry_id", "timestamp", "overall_score", "composition_score", "revitalization_score",
                   "duration_score", "deep_sleep_in_minutes", "resting_heart_rate", "restlessness"], rows)

    def _minutes(self, what: str) -> pa.Table:
        """Worn minutes as columns (never a tuple per minute): `ts` (UTC), `local_month` (the local day's month),
        and for "calories" `kcal`, for "levels" `level` (active minutes only)."""
        tables = []
        for d, day in sorted(self.activity.days.items()):
            if what == "calories":
                minutes, extra = np.arange(1440), {"kcal": day.calories}
            else:
                minutes = np.array(sorted(day.minute_levels), dtype=np.int64)
                extra = {"level": pa.array([day.minute_levels[int(m)] for m in minutes], pa.string())}
            utc = self._day_utc_seconds(d, minutes * 60) * 1_000_000
            tables.append(pa.table({"ts": pa.array(utc, pa.int64()).view(pa.timestamp("us")),
                                    "local_month": pa.array([d.replace(day=1)] * len(minutes), pa.date32()),
                                    **extra}))
        return pa.concat_tables(tables) if tables else pa.table({"ts": pa.array([], pa.timestamp("us"))})

    def _copy(self, table: pa.Table, folder: str, kind: str, name_of, month_sql: str, select_sql: str,
              fmt: str) -> None:
        """One file per month (`month_sql` over the table), written by DuckDB from the Arrow columns."""
        if not table.num_rows:
            return
        con = duckdb.connect()
        try:
            con.execute("set TimeZone = 'UTC'")
            con.register("minutes", table)
            for (month,) in con.execute(f"select distinct {month_sql} from minutes order by 1").fetchall():
                target = self._path(folder, name_of(month), kind)
                options = "format json, array true" if fmt == "json" else "format csv, header true"
                con.execute(f"copy (select {select_sql} from minutes where {month_sql} = ? order by ts) "
                            f"to '{target}' ({options})", [month])
        finally:
            con.close()

    def unread_kinds(self) -> None:
        """A few kinds every real export has and the import does not read (reported as ignored)."""
        h = self.health
        for month, days in groupby(sorted(h.steps), key=lambda d: d.replace(day=1)):
            days = list(days)
            self._json(JSON_FOLDER, f"distance-{month.isoformat()}.json", "distance",
                       [{"dateTime": d.strftime("%m/%d/%y 00:00:00"), "value": "0"} for d in days])
        self._csv("Paired Devices", "Devices.csv", "Devices", ["wire_id", "device_type", "serial_number", "enabled"],
                  [["223ee3c51f33", DEVICE, "SYNTH0001", "true"]])

    # ---- the JSON layout ----

    def json_layout(self, weight_unit: str, heart_rate: bool) -> None:
        h = self.health
        # sleep: monthly files; the export says mainSleep where the API says isMainSleep, and adds logType
        for month, logs in groupby(sorted(h.sleep, key=lambda s: s["dateOfSleep"]),
                                   key=lambda s: date.fromisoformat(s["dateOfSleep"]).replace(day=1)):
            rows = [{**{k: v for k, v in s.items() if k not in ("isMainSleep", "levels")}, "logType": "auto_detected",
                     "levels": _export_levels(s["levels"]), "mainSleep": s["isMainSleep"]} for s in logs]
            self._json(JSON_FOLDER, f"sleep-{month.isoformat()}.json", "sleep", rows)
        # steps: a month of local days plus the next month's first days, per-minute counts as strings, UTC stamps
        days = sorted(h.minute_steps)
        for month in sorted({d.replace(day=1) for d in days}):
            following = (month + timedelta(days=32)).replace(day=1) + timedelta(days=STEPS_OVERLAP_DAYS)
            rows = []
            for d in (d for d in days if month <= d < following):
                midnight = datetime.combine(d, datetime.min.time())
                rows.extend({"dateTime": self._utc(midnight + timedelta(minutes=m)).strftime(EXPORT_TS),
                             "value": str(n)} for m, n in h.minute_steps[d].items())
            self._json(JSON_FOLDER, f"steps-{month.isoformat()}.json", "steps", rows)
        # resting heart rate: one file for the whole span; days without enough data say 0
        rows = [{"dateTime": d.strftime("%m/%d/%y 00:00:00"),
                 "value": {"date": d.strftime("%m/%d/%y") if d in h.resting_heart_rate else None,
                           "value": h.resting_heart_rate.get(d, 0.0),
                           "error": 6.5 if d in h.resting_heart_rate else 0.0}} for d in h.life.dates()]
        self._json(JSON_FOLDER, f"resting_heart_rate-{h.life.config.start.isoformat()}.json", "resting_heart_rate",
                   rows)
        # weight: monthly files in the account's unit, no unit field
        for month, logs in groupby(h.weight, key=lambda w: date.fromisoformat(w["date"]).replace(day=1)):
            rows = [{"logId": w["logId"],
                     "weight": w["weight"] if weight_unit == "kg" else round(w["weight"] / LB_KG, 1),
                     "bmi": w["bmi"], **({"fat": w["fat"]} if w["fat"] is not None else {}),
                     "date": date.fromisoformat(w["date"]).strftime("%m/%d/%y"), "time": w["time"],
                     "source": w["source"]} for w in logs]
            self._json(JSON_FOLDER, f"weight-{month.isoformat()}.json", "weight", rows)
        self._activity_json()
        if heart_rate:
            self._heart_rate_json()

    def _activity_json(self) -> None:
        act = self.activity
        # calories: a file per local month of per-minute values (strings), UTC stamps like steps
        self._copy(self._minutes("calories"), JSON_FOLDER, "calories", lambda m: f"calories-{m.isoformat()}.json",
                   "local_month", f"""strftime(ts, '{EXPORT_TS}') as "dateTime", printf('%.2f', kcal) as "value" """,
                   "json")
        # daily minutes per level: a file per level and local month; the last month padded with future days
        months = sorted({d.replace(day=1) for d in act.days})
        for i, month in enumerate(months):
            days = [a for d, a in sorted(act.days.items()) if d.replace(day=1) == month]
            pad = ([self.health.life.config.end + timedelta(days=k) for k in range(1, 4)]
                   if i == len(months) - 1 else [])
            for level, prefix in (("very", "very_active"), ("moderate", "moderately_active"),
                                  ("light", "lightly_active"), ("sedentary", "sedentary")):
                rows = [{"dateTime": a.day.strftime("%m/%d/%y 00:00:00"), "value": str(a.minutes(level))} for a in days]
                rows += [{"dateTime": d.strftime("%m/%d/%y 00:00:00"), "value": "1440" if level == "sedentary" else "0"}
                         for d in pad if d > datetime.now().date()]
                self._json(JSON_FOLDER, f"{prefix}_minutes-{month.isoformat()}.json", "active_minutes", rows)
        # exercise: 100 activity logs a file, named by their offset
        logs = []
        for e in act.exercises:
            start_utc = self._utc(e.start_local)
            log = {"logId": e.log_id, "activityName": e.name, "activityTypeId": ACTIVITY_TYPE_IDS[e.exercise_type],
                   "averageHeartRate": e.average_heart_rate_bpm, "calories": e.calories_kcal,
                   "duration": e.minutes * 60_000, "activeDuration": e.minutes * 60_000, "logType": "auto_detected",
                   "startTime": start_utc.strftime(EXPORT_TS), "hasGps": False,
                   "lastModified": (start_utc + timedelta(minutes=e.minutes + 9)).strftime(EXPORT_TS),
                   "originalStartTime": start_utc.strftime(EXPORT_TS), "originalDuration": e.minutes * 60_000}
            if e.steps is not None:
                log["steps"] = e.steps
            if e.distance_m is not None:
                log.update({"distance": round(e.distance_m / 1000, 6), "distanceUnit": "Kilometer"})
            logs.append(log)
        for i in range(0, max(len(logs), 1), 100):
            self._json(JSON_FOLDER, f"exercise-{i}.json", "exercise", logs[i:i + 100])

    def _heart_rate_json(self) -> None:
        """One heart_rate-YYYY-MM-DD.json per worn local day, UTC stamps, written by DuckDB (~7.5 M a year)."""
        h = self.health
        con = duckdb.connect()
        try:
            for d in h.life.dates():
                day = h.heart_rate(d)
                if not len(day):
                    continue
                utc = self._day_utc_seconds(d, day.seconds) * 1_000_000
                con.register("samples", pa.table({"ts": pa.array(utc, pa.int64()).view(pa.timestamp("us")),
                                                  "bpm": day.bpm, "confidence": day.confidence}))
                target = self._path(JSON_FOLDER, f"heart_rate-{d.isoformat()}.json", "heart_rate")
                con.execute(f"""
                    copy (
                        select strftime(ts, '{EXPORT_TS}') as "dateTime",
                               {{'bpm': bpm, 'confidence': confidence}} as "value"
                        from samples order by ts
                    ) to '{target}' (format json, array true)
                """)
                con.unregister("samples")
        finally:
            con.close()

    # ---- the CSV layout ----

    def csv_layout(self, heart_rate: bool) -> None:
        h = self.health
        # steps: monthly files by UTC month, one row per minute with steps
        minutes = []
        for d in sorted(h.minute_steps):
            midnight = datetime.combine(d, datetime.min.time())
            minutes.extend((self._utc(midnight + timedelta(minutes=m)), n) for m, n in h.minute_steps[d].items())
        for month, rows in groupby(sorted(minutes), key=lambda r: r[0].date().replace(day=1)):
            self._csv(ACTIVITY_FOLDER, f"steps_{month.isoformat()}.csv", "steps", ["timestamp", "steps", "data source"],
                      [[at.strftime(CSV_TS), n, DEVICE] for at, n in rows])
        self._csv(ACTIVITY_FOLDER, "weight.csv", "weight", ["timestamp", "weight grams", "data source"],
                  [[self._utc(datetime.fromisoformat(f"{w['date']}T{w['time']}")).strftime(CSV_TS),
                    f"{w['weight'] * 1000:.1f}", "Aria"] for w in h.weight])
        self._csv(ACTIVITY_FOLDER, "daily_resting_heart_rate.csv", "resting_heart_rate",
                  ["timestamp", "beats per minute", "data source"],
                  [[f"{d.isoformat()}T00:00:00Z", f"{v:.3f}", DEVICE] for d, v in sorted(h.resting_heart_rate.items())])
        self._user_sleeps()
        self._activity_csv()
        if heart_rate:
            self._heart_rate_csv()

    def _activity_csv(self) -> None:
        utc_month = "date_trunc('month', ts)::date"
        self._copy(self._minutes("calories"), ACTIVITY_FOLDER, "calories", lambda m: f"calories_{m.isoformat()}.csv",
                   utc_month, f"""strftime(ts, '{CSV_TS}') as "timestamp", printf('%.2f', kcal) as calories,
                                  '{DEVICE}' as "data source" """, "csv")
        self._copy(self._minutes("levels"), ACTIVITY_FOLDER, "active_minutes",
                   lambda m: f"active_minutes_{m.isoformat()}.csv", utc_month,
                   f"""strftime(ts, '{CSV_TS}') as "timestamp", (level = 'light')::int as light,
                       (level = 'moderate')::int as moderate, (level = 'very')::int as very,
                       '{DEVICE}' as "data source" """, "csv")
        rows = []
        for e in self.activity.exercises:
            rows.append([e.log_id, self._utc(e.start_local).strftime(SLEEP_TS), self._utc(e.end_local).strftime(SLEEP_TS),
                         self._offset(e.start_local), e.name, "AUTO_DETECTED", f"{e.calories_kcal:.1f}",
                         e.steps if e.steps is not None else 0,
                         round(e.distance_m * 1000) if e.distance_m is not None else 0, e.average_heart_rate_bpm,
                         e.average_heart_rate_bpm + 18, 0, 0])
        self._csv(HEALTH_FOLDER, "UserExercises_1.csv", "exercise",
                  ["exercise_id", "exercise_start", "exercise_end", "utc_offset", "activity_name", "log_type",
                   "tracker_total_calories", "tracker_total_steps", "tracker_total_distance_mm",
                   "tracker_avg_heart_rate", "tracker_peak_heart_rate", "manually_logged_total_calories",
                   "manually_logged_total_distance_mm"], rows)

    def _user_sleeps(self) -> None:
        sleeps, stages = [], []
        for log in self.health.sleep:
            start = datetime.fromisoformat(log["startTime"][:19])
            end = datetime.fromisoformat(log["endTime"][:19])
            sleep_id = str(7_000_000_000_000_000_000 + log["logId"])  # Google's ids are not Fitbit's logIds
            created = self._utc(end + timedelta(minutes=8)).strftime(SLEEP_TS)
            sleeps.append([sleep_id, log["type"].upper(), log["timeInBed"], log["minutesAfterWakeup"],
                           log["minutesToFallAsleep"], log["minutesAsleep"], log["minutesAwake"],
                           max((seg["seconds"] // 60 for seg in log["levels"]["data"]
                                if seg["level"] in ("wake", "awake")), default=0),
                           log["minutesToFallAsleep"], self._offset(start), self._utc(start).strftime(SLEEP_TS),
                           self._offset(end), self._utc(end).strftime(SLEEP_TS), "PASSIVELY_MEASURED", created,
                           created])
            for seg in log["levels"]["data"]:
                at = datetime.fromisoformat(seg["dateTime"][:19])
                until = at + timedelta(seconds=seg["seconds"])
                stages.append([sleep_id, seg["level"].upper(), self._offset(at), self._utc(at).strftime(SLEEP_TS),
                               self._offset(until), self._utc(until).strftime(SLEEP_TS), "PASSIVELY_MEASURED"])
        self._csv(HEALTH_FOLDER, "UserSleeps_1.csv", "sleep",
                  ["sleep_id", "sleep_type", "minutes_in_sleep_period", "minutes_after_wake_up",
                   "minutes_to_fall_asleep", "minutes_asleep", "minutes_awake", "minutes_longest_awakening",
                   "minutes_to_persistent_sleep", "start_utc_offset", "sleep_start", "end_utc_offset", "sleep_end",
                   "data_source", "sleep_created", "sleep_last_updated"], sleeps)
        self._csv(HEALTH_FOLDER, "UserSleepStages_1.csv", "sleep_stages",
                  ["sleep_id", "sleep_stage_type", "start_utc_offset", "sleep_stage_start", "end_utc_offset",
                   "sleep_stage_end", "data_source"], stages)

    def _heart_rate_csv(self) -> None:
        """heart_rate_YYYY-MM-DD.csv per UTC day (a local day's samples fall into two of them)."""
        h = self.health
        by_utc_day: dict[date, list[pa.Table]] = {}
        for d in h.life.dates():
            day = h.heart_rate(d)
            if not len(day):
                continue
            utc = self._day_utc_seconds(d, day.seconds)
            utc_days = (utc // 86_400).astype(np.int64)
            for ud in np.unique(utc_days):
                mask = utc_days == ud
                by_utc_day.setdefault(date(1970, 1, 1) + timedelta(days=int(ud)), []).append(
                    pa.table({"ts": pa.array(utc[mask] * 1_000_000, pa.int64()).view(pa.timestamp("us")),
                              "bpm": day.bpm[mask]}))
        con = duckdb.connect()
        try:
            for ud, tables in sorted(by_utc_day.items()):
                con.register("samples", pa.concat_tables(tables))
                target = self._path(ACTIVITY_FOLDER, f"heart_rate_{ud.isoformat()}.csv", "heart_rate")
                con.execute(f"""
                    copy (
                        select strftime(ts, '{CSV_TS}') as "timestamp", printf('%.1f', bpm::double) as "beats per minute",
                               '{DEVICE}' as "data source"
                        from samples order by ts
                    ) to '{target}' (format csv, header true)
                """)
                con.unregister("samples")
        finally:
            con.close()

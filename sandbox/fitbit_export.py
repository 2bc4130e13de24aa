"""Writes the synthetic person's Fitbit data as a Google Takeout export (folder or zip), the shape users download today."""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import groupby
from pathlib import Path

import duckdb
import pyarrow as pa

from sandbox.fitbit_data import FitbitHealth

EXPORT_FOLDER = Path("Takeout") / "Fitbit" / "Global Export Data"
EXPORT_TS = "%m/%d/%y %H:%M:%S"


@dataclass
class ExportManifest:
    """Where the export was written and what it holds (the ground truth import tests compare against)."""

    path: Path
    folder: Path
    files: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def _month_key(d: date) -> date:
    return d.replace(day=1)


def _write_json(folder: Path, name: str, payload: list) -> None:
    (folder / name).write_text(json.dumps(payload, separators=(",", ":")))


def write_export(health: FitbitHealth, dest: Path, heart_rate: bool = True, as_zip: bool = False) -> ExportManifest:
    """Write every file kind under `dest/Takeout/Fitbit/Global Export Data/`; `as_zip` packs it as takeout.zip."""
    dest = Path(dest)
    folder = dest / EXPORT_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    manifest = ExportManifest(path=dest, folder=folder)

    def add(name: str, kind: str) -> None:
        manifest.files[name] = kind

    # sleep: monthly files of export-shaped logs (the export says mainSleep where the API says isMainSleep)
    by_month = groupby(sorted(health.sleep, key=lambda s: s["dateOfSleep"]),
                       key=lambda s: _month_key(date.fromisoformat(s["dateOfSleep"])))
    for month, logs in by_month:
        rows = [{**{k: v for k, v in s.items() if k != "isMainSleep"}, "mainSleep": s["isMainSleep"]} for s in logs]
        name = f"sleep-{month.isoformat()}.json"
        _write_json(folder, name, rows)
        add(name, "sleep")
    manifest.rows["sleep"] = len(health.sleep)

    # steps: monthly files of per-minute counts, values as strings, only minutes with steps
    for month, days in groupby(sorted(health.minute_steps), key=_month_key):
        rows = []
        for d in days:
            midnight = datetime.combine(d, datetime.min.time())
            rows.extend({"dateTime": (midnight + timedelta(minutes=m)).strftime(EXPORT_TS), "value": str(n)}
                        for m, n in health.minute_steps[d].items())
        name = f"steps-{month.isoformat()}.json"
        _write_json(folder, name, rows)
        add(name, "steps")
    manifest.rows["steps_days"] = len(health.steps)

    # resting heart rate: one file for the whole span; days without enough data say 0
    rows = []
    for d in health.life.dates():
        value = health.resting_heart_rate.get(d, 0.0)
        rows.append({"dateTime": d.strftime("%m/%d/%y 00:00:00"),
                     "value": {"date": d.strftime("%m/%d/%y"), "value": value, "error": 6.5 if value else 0.0}})
    name = f"resting_heart_rate-{health.life.config.start.isoformat()}.json"
    _write_json(folder, name, rows)
    add(name, "resting_heart_rate")
    manifest.rows["resting_heart_rate_days"] = len(health.resting_heart_rate)

    # weight: monthly files, dates as MM/DD/YY
    for month, logs in groupby(health.weight, key=lambda w: _month_key(date.fromisoformat(w["date"]))):
        rows = [{"logId": w["logId"], "weight": w["weight"], "bmi": w["bmi"],
                 **({"fat": w["fat"]} if w["fat"] is not None else {}),
                 "date": date.fromisoformat(w["date"]).strftime("%m/%d/%y"), "time": w["time"], "source": w["source"]}
                for w in logs]
        name = f"weight-{month.isoformat()}.json"
        _write_json(folder, name, rows)
        add(name, "weight")
    manifest.rows["weight"] = len(health.weight)

    manifest.rows["heart_rate"] = write_heart_rate_files(health, folder, manifest) if heart_rate else 0
    if as_zip:
        archive = dest / "takeout.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for name in manifest.files:
                zf.write(folder / name, str(EXPORT_FOLDER / name))
        shutil.rmtree(dest / EXPORT_FOLDER.parts[0])
        manifest.path = archive
    return manifest


def write_heart_rate_files(health: FitbitHealth, folder: Path, manifest: ExportManifest) -> int:
    """One heart_rate-YYYY-MM-DD.json per worn day, written by DuckDB (a year is ~7.5 M samples)."""
    total = 0
    con = duckdb.connect()
    try:
        for d in health.life.dates():
            day = health.heart_rate(d)
            if not len(day):
                continue
            con.register("samples", pa.table({"s": day.seconds, "bpm": day.bpm, "confidence": day.confidence}))
            name = f"heart_rate-{d.isoformat()}.json"
            midnight = d.isoformat()
            con.execute(f"""
                copy (
                    select strftime(cast('{midnight}' as timestamp) + to_seconds(s), '{EXPORT_TS}') as "dateTime",
                           {{'bpm': bpm, 'confidence': confidence}} as "value"
                    from samples order by s
                ) to '{folder / name}' (format json, array true)
            """)
            con.unregister("samples")
            manifest.files[name] = "heart_rate"
            total += len(day)
    finally:
        con.close()
    return total

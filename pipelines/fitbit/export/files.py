"""Finds, hashes and parses the files of a Fitbit data export (Takeout zip or folder) into Arrow tables."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.common.errors import SourceError
from pipelines.fitbit.records import sleep_row

# file name -> kind; everything else in a Takeout (profile, badges, other products) is ignored
_KINDS = re.compile(r"^(sleep|steps|heart_rate|resting_heart_rate|weight)-\d{4}-\d{2}-\d{2}\.json$")
EXPORT_TS = "%m/%d/%y %H:%M:%S"
# DuckDB reads with a fixed schema: a file that does not fit it is corrupt, not silently half-read
_READERS = {
    "heart_rate": (
        "{'dateTime': 'TIMESTAMP', 'value': 'STRUCT(bpm INTEGER, confidence INTEGER)'}",
        """select "dateTime" as measured_at,
                  cast("dateTime" as date) as measured_date,
                  cast("value".bpm as smallint) as bpm,
                  cast("value".confidence as tinyint) as confidence"""),
    "steps": (
        "{'dateTime': 'TIMESTAMP', 'value': 'VARCHAR'}",
        """select cast("dateTime" as date) as activity_date,
                  cast("value" as integer) as steps"""),
    "resting_heart_rate": (
        "{'dateTime': 'TIMESTAMP', 'value': 'STRUCT(date VARCHAR, value DOUBLE, error DOUBLE)'}",
        """select cast("dateTime" as date) as heart_rate_date,
                  round("value".value, 2) as resting_heart_rate"""),
    "weight": (
        "{'logId': 'BIGINT', 'weight': 'DOUBLE', 'bmi': 'DOUBLE', 'fat': 'DOUBLE', 'date': 'VARCHAR', "
        "'time': 'VARCHAR', 'source': 'VARCHAR'}",
        """select "logId" as log_id, cast(strptime("date", '%m/%d/%y') as date) as weight_date,
                  strptime("date" || ' ' || "time", '%m/%d/%y %H:%M:%S') as measured_at,
                  weight as weight_kg, bmi, fat as fat_pct, source as log_source"""),
}


@dataclass(frozen=True)
class ExportFile:
    """One data file of the export: its name (the key in fitbit__export_files), kind, size and content hash."""

    name: str
    kind: str
    size: int
    content_hash: str
    location: str


@dataclass
class ParsedFile:
    """What became of one file: its rows per table, or why it was skipped."""

    file: ExportFile
    rows: int = 0
    error: str | None = None


@dataclass
class ParsedExport:
    """Arrow tables per kind plus the per-file outcome (imported or corrupt)."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    sleep: list[dict] = field(default_factory=list)
    files: list[ParsedFile] = field(default_factory=list)

    @property
    def corrupt(self) -> list[ParsedFile]:
        return [f for f in self.files if f.error]


class Export:
    """A Takeout zip or an unpacked folder; files are found anywhere below it by their Fitbit names."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise SourceError(f"Fitbit export not found at {self.path}: pass --path <Takeout zip or folder> "
                              f"or set SOURCES__FITBIT_EXPORT__PATH")
        self.is_zip = self.path.is_file()
        if self.is_zip and not zipfile.is_zipfile(self.path):
            raise SourceError(f"{self.path} is neither a folder nor a zip file")

    def files(self) -> list[ExportFile]:
        """Every Fitbit data file, hashed (sha256 of the bytes), sorted by name."""
        found = []
        if self.is_zip:
            with zipfile.ZipFile(self.path) as zf:
                for info in zf.infolist():
                    name = Path(info.filename).name
                    if not info.is_dir() and (m := _KINDS.match(name)):
                        found.append(ExportFile(name, m.group(1), info.file_size,
                                                _hash(zf.read(info)), info.filename))
        else:
            for p in self.path.rglob("*.json"):
                if m := _KINDS.match(p.name):
                    found.append(ExportFile(p.name, m.group(1), p.stat().st_size, _hash(p.read_bytes()), str(p)))
        names = [f.name for f in found]
        if len(names) != len(set(names)):
            raise SourceError(f"{self.path} holds the same Fitbit file name twice: point at one export only")
        return sorted(found, key=lambda f: f.name)

    def parse(self, files: list[ExportFile]) -> ParsedExport:
        """Parse the given files; corrupt ones are reported with a reason and left out."""
        with tempfile.TemporaryDirectory(prefix="fitbit-export-") as tmp:
            local = self._materialise(files, Path(tmp))
            parsed = ParsedExport()
            con = duckdb.connect()
            try:
                for kind in _READERS:
                    of_kind = [f for f in files if f.kind == kind]
                    if of_kind:
                        table, outcomes = _read_kind(con, kind, of_kind, local)
                        parsed.tables[kind] = table
                        parsed.files.extend(outcomes)
            finally:
                con.close()
            for f in (f for f in files if f.kind == "sleep"):
                parsed.files.append(_read_sleep(f, local[f.name], parsed.sleep))
        return parsed

    def _materialise(self, files: list[ExportFile], tmp: Path) -> dict[str, str]:
        """Local paths DuckDB can read: the files themselves, or members extracted from the zip."""
        if not self.is_zip:
            return {f.name: f.location for f in files}
        out = {}
        with zipfile.ZipFile(self.path) as zf:
            for f in files:
                target = tmp / f.name
                with zf.open(f.location) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                out[f.name] = str(target)
        return out


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_kind(con: duckdb.DuckDBPyConnection, kind: str, files: list[ExportFile],
               local: dict[str, str]) -> tuple[pa.Table, list[ParsedFile]]:
    """All files of a kind in one DuckDB read (fast path); on failure, file by file to name the corrupt ones."""
    try:
        table, counts = _duckdb_read(con, kind, [local[f.name] for f in files])
        return table, [ParsedFile(f, rows=counts.get(local[f.name], 0)) for f in files]
    except duckdb.Error:
        pass
    good, outcomes = [], []
    for f in files:
        try:
            _duckdb_read(con, kind, [local[f.name]])
            good.append(f)
        except duckdb.Error as exc:
            outcomes.append(ParsedFile(f, error=_first_line(exc)))
    table, counts = _duckdb_read(con, kind, [local[f.name] for f in good]) if good else (None, {})
    outcomes.extend(ParsedFile(f, rows=counts.get(local[f.name], 0)) for f in good)
    return table, outcomes


def _duckdb_read(con: duckdb.DuckDBPyConnection, kind: str, paths: list[str]) -> tuple[pa.Table, dict[str, int]]:
    """One DuckDB scan of the files straight into Arrow; records per file counted on the Arrow side."""
    columns, select = _READERS[kind]
    files = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
    table = con.sql(f"""{select}, filename from read_json({files}, format = 'array', columns = {columns},
                                                          timestampformat = '{EXPORT_TS}', filename = true)
                    """).to_arrow_table()
    counts = {row["values"]: row["counts"] for row in pc.value_counts(table["filename"]).to_pylist()}
    table = table.drop_columns(["filename"])
    if kind == "steps":
        daily = table.group_by("activity_date").aggregate([("steps", "sum")])
        table = pa.table({"activity_date": daily["activity_date"], "steps": daily["steps_sum"]})
    elif kind == "resting_heart_rate":
        # the export writes 0 for days without enough data: no measurement, not a heart rate of 0
        table = table.filter(pc.greater(table["resting_heart_rate"], 0))
    return table, counts


def _read_sleep(f: ExportFile, path: str, into: list[dict]) -> ParsedFile:
    """Sleep logs are few and nested: parsed as JSON and flattened to the shared raw row shape."""
    try:
        logs = json.loads(Path(path).read_bytes())
        rows = [sleep_row(log, origin="export") for log in logs]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return ParsedFile(f, error=f"{type(exc).__name__}: {_first_line(exc)}")
    into.extend(rows)
    return ParsedFile(f, rows=len(rows))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__

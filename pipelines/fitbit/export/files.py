"""Finds, classifies and hashes the files of a Fitbit / Google Takeout export.

An export is one or more *parts*: an unpacked folder, a `.zip`, a `.tgz`/`.tar.gz`, or a folder holding several
of those (Takeout splits large exports into `takeout-<stamp>-001.zip`, `-002.zip`, ...). Every regular file of
every part is listed; a file is known by `<folder>/<name>` (e.g. `Global Export Data/heart_rate-2023-01-26.json`),
which is the same whether the export's root is `Takeout/Fitbit/` or `Takeout/Google Health/`, zipped or not.
Recognised files are known by their content hash (sha256, streamed in chunks: bounded memory whatever the file's
size); the others are counted by kind so the run can say what it did not read.

Hashing every file of a cumulative export again to find the one new day costs a read of the whole export (~0.5 GB
a year of per-second heart rate), so each file also has a *fingerprint* read for free: in a zip, the member's
CRC-32 from the central directory (a changed file with the same size changes its CRC, bar a 1 in 2**32
collision); in a folder, the file's mtime and ctime in nanoseconds (a rewrite changes both; tools that restore
an mtime, `touch -r` or `cp -p` or rsync, cannot set the ctime, which only moves forward); in a tgz, the sha256
taken while the one pass copies it out. A file whose fingerprint and size equal the ones recorded for it takes
its recorded hash unread (`Export.content_hash`); any other file is hashed. A copied or re-unpacked folder has
new ctimes: its files are hashed again (a slower run, never a wrong one); `--full-refresh` reads everything.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import zipfile
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path, PurePosixPath

from pipelines.common.errors import SourceError

CHUNK = 1 << 20
_ISO_DAY = r"(\d{4}-\d{2}-\d{2})"

# kind, layout, file-name pattern (group 1: the date in the name, when there is one). Anything else is ignored.
KINDS: list[tuple[str, str, re.Pattern]] = [
    # the "Global Export Data" JSON of older exports (also found in per-topic folders of the oldest ones)
    ("heart_rate", "json", re.compile(rf"^heart_rate-{_ISO_DAY}\.json$")),
    ("steps", "json", re.compile(rf"^steps-{_ISO_DAY}\.json$")),
    ("resting_heart_rate", "json", re.compile(rf"^resting_heart_rate-{_ISO_DAY}\.json$")),
    ("weight", "json", re.compile(rf"^weight-{_ISO_DAY}\.json$")),
    ("sleep", "json", re.compile(rf"^sleep-{_ISO_DAY}\.json$")),
    ("calories", "json", re.compile(rf"^calories-{_ISO_DAY}\.json$")),  # per minute, kcal as strings
    # daily minutes per activity level (one kind each in the export, one raw table here)
    ("active_minutes", "json",
     re.compile(rf"^(?:very_active|moderately_active|lightly_active|sedentary)_minutes-{_ISO_DAY}\.json$")),
    ("exercise", "json", re.compile(r"^exercise-\d+\.json$")),  # numbered by offset, no date in the name
    # the CSV layout of 2024-2026 exports (Physical Activity_GoogleData, Health Fitness Data_GoogleData)
    ("heart_rate", "csv", re.compile(rf"^heart_rate_{_ISO_DAY}\.csv$")),
    ("steps", "csv", re.compile(rf"^steps_{_ISO_DAY}\.csv$")),
    ("weight", "csv", re.compile(rf"^weight(?:_{_ISO_DAY})?\.csv$")),
    ("resting_heart_rate", "csv", re.compile(rf"^daily_resting_heart_rate(?:_{_ISO_DAY})?\.csv$")),
    ("sleep", "csv", re.compile(r"^UserSleeps(?:_.*)?\.csv$")),
    ("sleep_stages", "csv", re.compile(r"^UserSleepStages(?:_.*)?\.csv$")),
    ("calories", "csv", re.compile(rf"^calories_{_ISO_DAY}\.csv$")),  # Physical Activity_GoogleData[/Calories]
    ("active_minutes", "csv", re.compile(rf"^active_minutes_{_ISO_DAY}\.csv$")),  # per minute: light,moderate,very
    ("exercise", "csv", re.compile(rf"^UserExercises(?:_{_ISO_DAY}|_.*)?\.csv$")),  # Health Fitness Data_GoogleData
    # CSV files both layouts carry
    ("sleep_score", "csv", re.compile(r"^sleep_score\.csv$")),
    ("hrv", "csv", re.compile(r"^Daily Heart Rate Variability Summary - (\d{4}-\d{2})-\(?(\d{1,2})?\)?\.csv$")),
    ("spo2", "csv", re.compile(rf"^Daily SpO2 - {_ISO_DAY}.*\.csv$")),
    # settings: the time zone and the weight unit
    ("profile", "csv", re.compile(r"^Profile\.csv$")),
]
DATA_KINDS = ("heart_rate", "steps", "sleep", "sleep_stages", "sleep_score", "weight", "resting_heart_rate", "hrv",
              "spo2", "calories", "active_minutes", "exercise")
_ARCHIVE = re.compile(r"\.(zip|tgz|tar\.gz|tar)$", re.I)


@dataclass(frozen=True)
class ExportFile:
    """One file of the export: where it is, what it holds, and (for recognised files) its content hash."""

    source_file: str  # "<folder>/<name>": the key of the file's rows in every raw table
    name: str
    kind: str  # a data kind, "profile", or for ignored files a kind told from the name ("calories", "README")
    layout: str  # json | csv | other
    size: int
    part: ExportPart = field(compare=False, repr=False)
    member: str = field(compare=False, repr=False)
    content_hash: str | None = None  # sha256; None until Export.content_hash resolved it
    day: date | None = None  # the date in the name (a day file's day, a chunk's first day)
    fingerprint: str | None = None  # read without reading the file (see the module's docstring)

    @property
    def recognised(self) -> bool:
        return self.layout != "other"


class ExportPart:
    """One folder or archive of the export; lists its regular files and copies members out."""

    def __init__(self, path: Path):
        self.path = path

    def entries(self) -> Iterator[tuple[str, int, str | None]]:
        """(member, size, fingerprint) of every regular file."""
        raise NotImplementedError

    def open(self, member: str):
        raise NotImplementedError

    def hash(self, member: str) -> str:
        digest = hashlib.sha256()
        with self.open(member) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def copy_to(self, member: str, target: Path) -> None:
        with self.open(member) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)

    def local_path(self, member: str) -> str | None:
        """A path DuckDB can read directly, when the member is a plain file."""
        return None

    def close(self) -> None:
        pass


class FolderPart(ExportPart):
    def entries(self) -> Iterator[tuple[str, int, str | None]]:
        for p in sorted(self.path.rglob("*")):
            # a directory named like a data file is not a file; archives inside are parts of their own
            if p.is_file() and not _ARCHIVE.search(p.name):
                stat = p.stat()
                yield (p.relative_to(self.path).as_posix(), stat.st_size,
                       f"mtime_ns:{stat.st_mtime_ns};ctime_ns:{stat.st_ctime_ns}")

    def open(self, member: str):
        return open(self.path / member, "rb")

    def local_path(self, member: str) -> str:
        return str(self.path / member)


class ZipPart(ExportPart):
    def __init__(self, path: Path):
        super().__init__(path)
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise SourceError(f"the zip is truncated or corrupt: {path} ({exc})") from None

    def entries(self) -> Iterator[tuple[str, int, str | None]]:
        for info in self.zip.infolist():
            if not info.is_dir():
                yield info.filename, info.file_size, f"crc32:{info.CRC:08x}"

    def open(self, member: str):
        return self.zip.open(member)

    def close(self) -> None:
        self.zip.close()


class TarPart(ExportPart):
    """A .tgz/.tar.gz export. Gzip has no index: members are read in one pass and the recognised ones copied
    to a scratch folder as they stream by (hashing on the way), so nothing is decompressed twice."""

    def __init__(self, path: Path, scratch: Path):
        super().__init__(path)
        self.scratch = scratch
        self.copied: dict[str, Path] = {}
        self.hashes: dict[str, str] = {}
        self._entries: list[tuple[str, int]] = []
        try:
            with tarfile.open(path, "r:*") as tar:
                for member in tar:
                    if not member.isfile():
                        continue
                    self._entries.append((member.name, member.size))
                    if classify(PurePosixPath(member.name).name)[1] == "other":
                        continue
                    target = scratch / f"{len(self.copied)}_{PurePosixPath(member.name).name}"
                    digest = hashlib.sha256()
                    src = tar.extractfile(member)
                    with open(target, "wb") as dst:
                        while chunk := src.read(CHUNK):
                            digest.update(chunk)
                            dst.write(chunk)
                    self.copied[member.name] = target
                    self.hashes[member.name] = digest.hexdigest()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise SourceError(f"the archive is truncated or corrupt: {path} ({exc})") from None

    def entries(self) -> Iterator[tuple[str, int, str | None]]:
        for member, size in self._entries:
            digest = self.hashes.get(member)
            yield member, size, f"sha256:{digest}" if digest else None

    def open(self, member: str):
        return open(self.copied[member], "rb")

    def hash(self, member: str) -> str:
        return self.hashes[member]

    def local_path(self, member: str) -> str:
        return str(self.copied[member])


def classify(name: str) -> tuple[str, str, date | None]:
    """(kind, layout, day in the name) of a file name; ignored files get a kind told from the name."""
    for kind, layout, pattern in KINDS:
        if m := pattern.match(name):
            return kind, layout, _name_day(kind, m)
    return ignored_kind(name), "other", None


def _name_day(kind: str, m: re.Match) -> date | None:
    if not m.groups() or m.group(1) is None:
        return None
    if kind == "hrv":  # "Daily Heart Rate Variability Summary - 2024-07-(21).csv"; "- 2024-07-.csv" is the 1st
        return date.fromisoformat(f"{m.group(1)}-{int(m.group(2) or 1):02d}")
    return date.fromisoformat(m.group(1))


def ignored_kind(name: str) -> str:
    """`calories-2023-01-01.json` -> calories, `Minute SpO2 - 2024-01-01.csv` -> Minute SpO2, `exercise-100.json`
    -> exercise, `Devices.csv` -> Devices."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = re.sub(r"[\s_-]*(\(?\d{4}-\d{2}(-\(?\d{1,2}\)?)?.*|\d+)$", "", stem)
    return stem.strip(" -_") or name


def source_file_of(member: str) -> str:
    parts = PurePosixPath(member).parts
    return "/".join(parts[-2:])


class Export:
    """The parts at `paths`: folders, zips, tgzs, or folders holding several of them (a split export)."""

    def __init__(self, paths: str | Path | list[str | Path], scratch: Path):
        if isinstance(paths, str):  # several parts: separated by os.pathsep (`--path` given more than once)
            paths = [p for p in paths.split(os.pathsep) if p.strip()]
        elif isinstance(paths, Path):
            paths = [paths]
        self.paths = [Path(str(p).strip()).expanduser() for p in paths]
        if not self.paths:
            raise SourceError("no Fitbit export given: pass --path <Takeout zip, tgz or folder> "
                              "or set SOURCES__FITBIT_EXPORT__PATH")
        self.scratch = scratch
        self.parts: list[ExportPart] = []
        for path in self.paths:
            self.parts.extend(self._open(path))

    def _open(self, path: Path) -> list[ExportPart]:
        if not path.exists():
            raise SourceError(f"Fitbit export not found at {path}: pass --path <Takeout zip, tgz or folder> "
                              f"or set SOURCES__FITBIT_EXPORT__PATH")
        if path.is_dir():
            parts: list[ExportPart] = [FolderPart(path)]
            for archive in sorted(p for p in path.rglob("*") if p.is_file() and _ARCHIVE.search(p.name)):
                parts.extend(self._open(archive))
            return parts
        if zipfile.is_zipfile(path):
            return [ZipPart(path)]
        if _is_tar(path):
            folder = self.scratch / f"tar{len(self.parts)}_{path.stem}"
            folder.mkdir(parents=True, exist_ok=True)
            return [TarPart(path, folder)]
        head = path.read_bytes()[:4] if path.stat().st_size else b""
        if path.suffix.lower() == ".zip" or head.startswith(b"PK"):
            raise SourceError(f"the zip is truncated or corrupt: {path}")
        if re.search(r"\.(tgz|tar\.gz|tar)$", path.name, re.I) or head.startswith(b"\x1f\x8b"):
            raise SourceError(f"the archive is truncated or corrupt: {path}")
        raise SourceError(f"{path} is neither a folder nor a zip or tgz file")

    def listing(self) -> Listing:
        """Every regular file of every part, with its fingerprint (not hashed yet: see content_hash). The same
        file in two parts counts once when the copies are equal; different copies of one file are an error (two
        exports mixed up)."""
        listing = Listing()
        seen: dict[str, ExportFile] = {}
        ignored: dict[str, ExportFile] = {}
        for part in self.parts:
            for member, size, fingerprint in part.entries():
                name = PurePosixPath(member).name
                kind, layout, day = classify(name)
                key = source_file_of(member)
                if layout == "other":
                    ignored.setdefault(key, ExportFile(key, name, kind, layout, size, part, member))
                    continue
                digest = fingerprint.removeprefix("sha256:") if fingerprint and fingerprint.startswith("sha256:") \
                    else None
                f = ExportFile(key, name, kind, layout, size, part, member, digest, day, fingerprint)
                if key in seen:
                    first = seen[key]
                    same = (first.size == f.size and (
                        first.fingerprint == f.fingerprint if (first.fingerprint or "").startswith("crc32:")
                        and (f.fingerprint or "").startswith("crc32:")
                        else self.content_hash(first).content_hash == self.content_hash(f).content_hash))
                    if not same:
                        raise SourceError(f"{key} appears twice with different contents ({seen[key].part.path} "
                                          f"and {part.path}): point at one export only")
                    continue
                seen[key] = f
        listing.files = sorted(seen.values(), key=lambda f: f.source_file)
        listing.ignored = sorted(ignored.values(), key=lambda f: f.source_file)
        return listing

    @staticmethod
    def content_hash(f: ExportFile, recorded: dict | None = None) -> ExportFile:
        """`f` with its sha256: the recorded one when the file's fingerprint and size equal the recorded ones
        (`recorded`: the file's row of the files table), else hashed now."""
        if f.content_hash is not None:
            return f
        recorded = recorded or {}
        if (f.fingerprint is not None and recorded.get("fingerprint") == f.fingerprint
                and recorded.get("size_bytes") == f.size and recorded.get("content_hash")):
            return replace(f, content_hash=recorded["content_hash"])
        return replace(f, content_hash=f.part.hash(f.member))

    def close(self) -> None:
        for part in self.parts:
            part.close()


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except (OSError, EOFError):
        return False


@dataclass
class Listing:
    files: list[ExportFile] = field(default_factory=list)  # recognised (data kinds and the profile)
    ignored: list[ExportFile] = field(default_factory=list)

    def ignored_by_kind(self) -> Counter[str]:
        return Counter(f.kind for f in self.ignored)


def twins(files: list[ExportFile], utc_offsets: dict[date, int] | None = None) -> dict[str, str]:
    """JSON files whose data the CSV layout also holds: source_file -> the CSV file that covers it.

    The CSV layout wins wherever it covers a JSON file (explicit UTC stamps and offsets, weight in grams):
    - heart rate (one file per day in both layouts; a JSON file is bounded by the *local* day, a CSV file by
      the UTC day): the JSON day is skipped when the CSV files of every UTC day its local day touches exist;
    - the other kinds come in chunks named by their first day: a CSV file without a date covers all history,
      otherwise a JSON chunk is skipped when its first day lies within the CSV files' first and last day;
    - exercise-N.json files carry no date (numbered by offset): any UserExercises CSV file covers them.
    `utc_offsets` maps a local day to its offset at midnight (minutes); default 0.
    """
    # per kind once, not per JSON file: per-file scans were quadratic in the file count (ten years of day files:
    # 0.6 s of a 6.8 s import that skipped every unchanged file)
    csv: dict[str, list[ExportFile]] = {}
    for c in files:
        if c.layout == "csv":
            csv.setdefault(c.kind, []).append(c)
    by_day = {kind: {c.day: c for c in same} for kind, same in csv.items()}
    undated = {kind: [c for c in same if c.day is None] for kind, same in csv.items()}
    dated = {kind: sorted(same, key=lambda c: c.day) for kind, same in csv.items() if not undated[kind]}
    dated_days = {kind: [c.day for c in same] for kind, same in dated.items()}
    covered: dict[str, str] = {}
    for f in (f for f in files if f.layout == "json" and f.kind in DATA_KINDS):
        same = csv.get(f.kind)
        if not same:
            continue
        if f.kind == "heart_rate":
            days_held = by_day[f.kind]
            offset = (utc_offsets or {}).get(f.day, 0)
            first = _utc_day(f.day, offset, 0)
            last = _utc_day(f.day + timedelta(days=1), (utc_offsets or {}).get(f.day + timedelta(days=1), offset), -1)
            days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
            if all(d in days_held for d in days):
                covered[f.source_file] = days_held[days[-1]].source_file
            continue
        if undated[f.kind] or f.day is None:  # exercise-N.json has no date: the CSV layout's sessions cover them all
            covered[f.source_file] = (undated[f.kind] or same)[0].source_file
            continue
        chunks, starts = dated[f.kind], dated_days[f.kind]
        if starts[0] <= f.day <= starts[-1]:
            covered[f.source_file] = chunks[bisect_right(starts, f.day) - 1].source_file
    return covered


def _utc_day(local_midnight: date, offset_minutes: int, extra_seconds: int) -> date:
    """The UTC date of local midnight of `local_midnight` plus `extra_seconds`."""
    at = datetime.combine(local_midnight, datetime.min.time()) - timedelta(minutes=offset_minutes,
                                                                           seconds=-extra_seconds)
    return at.date()

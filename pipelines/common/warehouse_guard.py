"""Checks made before a run touches the warehouse, and what a warehouse holds, said in words a user can act on.

`preflight(source)` is the first thing every run does (runner.run_source):
1. dlt's mode variables (`FULL_REFRESH`, `DEV_MODE`, `REFRESH`) are taken out of the environment (settings.py);
2. dlt's TOML files are parsed, so a broken `.dlt/*.toml` is reported with its file and line (and the Fitbit
   export's configured path is pinned: see pin_export_path);
3. the warehouse's origin is checked: sandbox (synthetic) data and a real account's data never share a
   warehouse. A run whose API base URL is on this machine (127.0.0.1, localhost: the sandbox) is a sandbox
   run; any other host is a real account. The first run stamps the warehouse (`ops.warehouse_origin`);
   a run of the other origin is refused with one line naming the command that starts a clean warehouse.
   So a sandbox cursor (dlt state) can never stand in for real history, and synthetic rows never reach
   real marts. File sources (the Fitbit export) have no base URL: an export written by `make sandbox-export`
   carries a marker file and counts as a sandbox run; any other export is neither checked nor stamped;
4. dlt's local working dir (its state: the incremental cursors) belongs to one warehouse: the first run
   binds it (`<pipelines dir>/warehouse.json`), and a run into another warehouse with the same working dir
   (a PIPELINES_DIR shared between a sandbox and a real warehouse) is refused, since the other warehouse's
   cursors would make it skip what this one never received.

Checks 3 and 4 run on DuckDB (the default, and where the demo and sandbox runs go). On Postgres and BigQuery
they are skipped: the demo never writes there, and those warehouses are set up on purpose.
"""

from __future__ import annotations

import argparse
import importlib
import ipaddress
import json
import os
import re
import shutil
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import dlt

from pipelines.common.errors import SourceError
from pipelines.common.run_ledger import ops_dataset
from pipelines.common.settings import (
    REPO_ROOT,
    ConfigFileError,
    check_config_files,
    destination_name,
    pipelines_dir,
    scrub_dlt_mode_env,
    warehouse_path,
)

SANDBOX = "sandbox"
REAL = "real"
ORIGIN_TABLE = "warehouse_origin"
STATE_BINDING = "warehouse.json"  # in dlt's working dir: which warehouse its state (cursors) belongs to
SYNTHETIC_EXPORT_MARKER = "SYNTHETIC_SANDBOX_EXPORT.txt"  # written next to a sandbox Takeout export
CLEAN_COMMAND = "make clean-warehouse"


def preflight(source: str) -> None:
    """Everything that must hold before `source` runs; raises SourceError (one line) when it does not."""
    scrub_dlt_mode_env()
    try:
        check_config_files()
    except ConfigFileError as exc:
        raise SourceError(str(exc)) from None
    if source == "fitbit_export":
        pin_export_path()
    check_warehouse_origin(source)


def pin_export_path() -> None:
    """Puts a configured `sources.fitbit_export.path` (.dlt/secrets.toml) into SOURCES__FITBIT_EXPORT__PATH.

    dlt looks an injected `path` up in the environment under every shorter section first, down to the bare
    name, before it reads the TOML files: without this, `make fitbit-export` with the path in secrets.toml
    imports whatever folder $PATH names.
    """
    name = "SOURCES__FITBIT_EXPORT__PATH"
    if not os.environ.get(name):
        configured = dlt.config.get("sources.fitbit_export.path")
        if configured:
            os.environ[name] = str(Path(str(configured)).expanduser())


# --- where a run's data comes from ---

def is_local_host(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost are this machine: the sandbox (`make sandbox`, `make demo`, the tests)."""
    host = (host or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def configured_base_url(source: str) -> str | None:
    """`sources.<source>.api_base_url` as dlt resolves it (env, secrets.toml, config.toml), else the source's default.

    None for sources without an API (the Fitbit export reads files).
    """
    try:
        defaults = importlib.import_module(f"pipelines.{source}.settings")
    except ModuleNotFoundError:
        return None
    default = getattr(defaults, "API_BASE_URL", None)
    if default is None:
        return None
    return str(dlt.config.get(f"sources.{source}.api_base_url") or default)


def is_synthetic_export(path: str | Path) -> bool:
    """A Takeout export (folder or zip) written by the sandbox: the marker sits at its root (or the zip holds it)."""
    path = Path(path).expanduser()
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return any(Path(name).name == SYNTHETIC_EXPORT_MARKER for name in archive.namelist())
    folder = path if path.is_dir() else path.parent
    return any((parent / SYNTHETIC_EXPORT_MARKER).exists() for parent in [folder, *folder.parents][:5])


def run_origin(source: str) -> tuple[str, str] | None:
    """(`sandbox` or `real`, host) of a run of `source`; None when that cannot be told (a file import)."""
    if source == "fitbit_export":
        path = dlt.config.get("sources.fitbit_export.path")
        return (SANDBOX, "sandbox export") if path and is_synthetic_export(str(path)) else None
    url = configured_base_url(source)
    if url is None:
        return None
    host = urlsplit(url).hostname or url
    return (SANDBOX if is_local_host(host) else REAL), host


# --- the stamp in the warehouse (DuckDB) ---

def _connect(path: Path, read_only: bool):
    import duckdb

    for attempt in range(5):
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or attempt == 4:
                if "lock" in str(exc).lower():
                    raise SourceError(f"the warehouse {path} is in use by another process (a run, dbt or the "
                                      f"dashboard holds its lock): try again when it is done") from exc
                raise
            time.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")


def warehouse_origins(path: Path | None = None) -> dict[str, set[str]]:
    """origin -> hosts this DuckDB warehouse has been loaded from (empty when unknown or no file yet).

    Warehouses built by `make demo` before the stamp existed are recognised by `marts.warehouse_info`.
    """
    path = path or warehouse_path()
    if not path.exists():
        return {}
    con = _connect(path, read_only=True)
    try:
        return _origins(con)
    finally:
        con.close()


def _origins(con) -> dict[str, set[str]]:
    ops = ops_dataset()
    found: dict[str, set[str]] = {}
    if _has_table(con, ops, ORIGIN_TABLE):
        for origin, host in con.execute(f'select origin, host from "{ops}"."{ORIGIN_TABLE}"').fetchall():
            found.setdefault(origin, set()).add(host)
    elif _has_table(con, "marts", "warehouse_info"):
        origins = con.execute("select data_origin from marts.warehouse_info").fetchall()
        if any("synthetic" in str(o).lower() or "sandbox" in str(o).lower() for (o,) in origins):
            found[SANDBOX] = {"make demo (before the origin stamp)"}
    return found


def _has_table(con, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? "
                            "and table_name = ?", [schema, table]).fetchall()[0][0])


def check_warehouse_origin(source: str) -> None:
    """Refuses a run whose origin (sandbox or real) differs from what the warehouse holds, or whose dlt state
    belongs to another warehouse; stamps the warehouse and binds the state otherwise."""
    if destination_name() != "duckdb":
        return
    path = warehouse_path()
    _check_state_binding(path)
    origin = run_origin(source)
    if origin is not None:
        kind, host = origin
        path.parent.mkdir(parents=True, exist_ok=True)
        con = _connect(path, read_only=False)
        try:
            held = _origins(con)
            others = {k: hosts for k, hosts in held.items() if k != kind}
            if others:
                raise SourceError(refusal(source, kind, host, path, others))
            _stamp(con, kind, source, host)
        finally:
            con.close()
    _bind_state(path)


def _check_state_binding(path: Path) -> None:
    state = pipelines_dir()
    binding = state / STATE_BINDING
    try:
        bound = Path(json.loads(binding.read_text())["warehouse"])
    except (FileNotFoundError, KeyError, ValueError):
        return
    if bound != path:
        raise SourceError(f"refused: dlt's state in {_shown(state)} belongs to the warehouse {_shown(bound)}, not "
                          f"{_shown(path)}; its cursors would skip what this warehouse never got: give each warehouse "
                          f"its own PIPELINES_DIR (unset, it follows WAREHOUSE_PATH)")


def _bind_state(path: Path) -> None:
    binding = pipelines_dir() / STATE_BINDING
    if not binding.exists():
        binding.parent.mkdir(parents=True, exist_ok=True)
        binding.write_text(json.dumps({"warehouse": str(path), "destination": "duckdb"}) + "\n")


def refusal(source: str, kind: str, host: str, path: Path, others: dict[str, set[str]]) -> str:
    where = _shown(path)
    if kind == REAL:
        return (f"refused: {where} holds sandbox (synthetic) data and this {source} run reads your real account "
                f"at {host}; start a clean warehouse with `{CLEAN_COMMAND}` (deletes {where} and its dlt state), "
                f"or load into another file with WAREHOUSE_PATH=<new .duckdb file>")
    hosts = ", ".join(sorted(h for hs in others.values() for h in hs))
    what = "a synthetic sandbox export" if host == "sandbox export" else f"the sandbox at {host}"
    return (f"refused: {where} holds real data (from {hosts}) and this {source} run reads {what}; "
            f"give sandbox runs their own warehouse: WAREHOUSE_PATH=data/sandbox.duckdb (make demo uses "
            f"data/demo.duckdb)")


def _stamp(con, kind: str, source: str, host: str) -> None:
    ops = ops_dataset()
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute(f'create schema if not exists "{ops}"')
    con.execute(f'create table if not exists "{ops}"."{ORIGIN_TABLE}" (origin varchar not null, '
                "source varchar not null, host varchar not null, first_seen_at timestamp, last_seen_at timestamp)")
    key = [kind, source, host]
    seen = con.execute(f'select count(*) from "{ops}"."{ORIGIN_TABLE}" where origin = ? and source = ? and host = ?',
                       key).fetchall()[0][0]
    if seen:
        con.execute(f'update "{ops}"."{ORIGIN_TABLE}" set last_seen_at = ? where origin = ? and source = ? '
                    "and host = ?", [now, *key])
    else:
        con.execute(f'insert into "{ops}"."{ORIGIN_TABLE}" values (?, ?, ?, ?, ?)', [*key, now, now])


# --- a missing source, in words ---

# how the raw tables of each source (`<source>__<entity>`) are loaded
LOAD_COMMANDS = {
    "notion": "make notion",
    "hubspot": "make hubspot",
    "fitbit_export": "make fitbit-export EXPORT=<your Takeout zip or folder>",
    "fitbit": "make fitbit",
}
SOURCE_ALIASES = {"google_health": "fitbit"}  # dbt staging named after the API the fitbit pipeline reads
_MISSING_TABLE = re.compile(r"(?:Table|relation)(?: with name)? \"?(?:[\w]+\.)?\"?(?P<table>[a-z0-9_]+?)\"? does not exist",
                            re.I)


def load_command(source: str) -> str:
    return LOAD_COMMANDS.get(source, f"make {source.replace('_', '-')}")


def missing_source_message(error: BaseException | str) -> str | None:
    """For a "table does not exist" error (DuckDB's Catalog Error, Postgres' undefined relation) on a source table:
    which source has not been loaded and the command that loads it. None for any other error."""
    match = _MISSING_TABLE.search(str(error))
    if not match:
        return None
    table = match.group("table")
    for prefix in ("stg_", "int_"):
        table = table.removeprefix(prefix)
    source = table.split("__", 1)[0] if "__" in table else None
    source = SOURCE_ALIASES.get(source, source)
    if source not in LOAD_COMMANDS:
        return None
    return (f"{source} has not been loaded into this warehouse (no table {match.group('table')}): load it with "
            f"`{load_command(source)}`, then `make dbt-build`")


# --- a clean warehouse ---

def clean_warehouse(path: Path | None = None, state_dir: Path | None = None) -> list[Path]:
    """Deletes the DuckDB warehouse file (and its WAL) and dlt's local state for it; returns what was deleted."""
    if destination_name() != "duckdb":
        raise SourceError(f"PIPELINE_DESTINATION={destination_name()}: only a local DuckDB warehouse is deleted "
                          f"this way; drop the datasets in that destination yourself")
    path = path or warehouse_path()
    state_dir = state_dir or pipelines_dir()
    removed = []
    for target in (path, path.with_name(path.name + ".wal"), state_dir):
        if target.is_dir():
            shutil.rmtree(target)
            removed.append(target)
        elif target.exists():
            target.unlink()
            removed.append(target)
    return removed


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.common.warehouse_guard",
                                     description="What the local warehouse holds (sandbox or real), or delete it.")
    parser.add_argument("command", choices=["origin", "clean"])
    args = parser.parse_args(argv)
    path = warehouse_path()
    try:
        if args.command == "clean":
            removed = clean_warehouse(path)
            print("\n".join(f"deleted {_shown(p)}" for p in removed) if removed else f"nothing to delete: no {_shown(path)}")
            print(f"the next run starts a clean warehouse at {_shown(path)}")
            return 0
        origins = warehouse_origins(path)
        print(f"{_shown(path)}: " + ("; ".join(f"{k} ({', '.join(sorted(v))})" for k, v in sorted(origins.items()))
                                     or "no origin recorded yet"))
        return 0
    except SourceError as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

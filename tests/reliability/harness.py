"""What the reliability tests share: sources run as `python -m pipelines.<x>` (or the same CLI in-process), a
SIGKILL at a named point, and a fingerprint of the raw tables (rows, a checksum of keys, duplicate keys)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]
# dlt's retry settings for tests: 3 attempts, no real waiting (Retry-After of the sandbox is capped by the max delay)
FAST_RETRIES = {"RUNTIME__REQUEST_MAX_ATTEMPTS": "3", "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.01",
                "RUNTIME__REQUEST_MAX_RETRY_DELAY": "0.05", "HTTP_CONNECT_RETRIES": "1"}
# columns stamped with the load time: not part of what a run's data is
VOLATILE = {"loaded_at", "imported_at", "_dlt_load_id", "_dlt_id", "_dlt_parent_id", "_dlt_root_id"}


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.returncode == -9

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def source_module(source: str) -> str:
    return f"pipelines.{source}"


def run_cli(source: str, env: dict[str, str], kill_at: str | None = None, timeout: float = 300,
            cwd: Path = REPO) -> Outcome:
    """`python -m pipelines.<source>` with `env` on top of ours; `kill_at` arms the runner's SIGKILL switch."""
    full = {"PYTHONPATH": str(REPO), **os.environ, **env}
    full.pop("PIPELINE_TEST_KILL_AT", None)
    if kill_at:
        full["PIPELINE_TEST_KILL_AT"] = kill_at
    result = subprocess.run([sys.executable, "-m", source_module(source)], env=full, cwd=cwd,
                            capture_output=True, text=True, timeout=timeout)
    return Outcome(result.returncode, result.stdout, result.stderr)


def run_in_process(source: str, capsys=None) -> int:
    """The same CLI in this process (saves an interpreter start); env comes from os.environ (monkeypatch it)."""
    if source == "fitbit_export":
        from pipelines.fitbit.export import main

        return main([])
    from pipelines.common import cli

    if source == "notion":
        from pipelines.notion import notion_source as build
    elif source == "hubspot":
        from pipelines.hubspot import hubspot_source as build
    else:
        raise ValueError(source)
    return cli.main(source, build, [])


def raw_tables(path: Path, dataset: str = "raw") -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? and table_name not like '_dlt%' "
            "order by 1", [dataset]).fetchall()]
    finally:
        con.close()


def key_columns(path: Path, source: str, dataset: str = "raw") -> dict[str, list[str]]:
    """table -> its primary-key (or unique) columns from the schema dlt stored with the data."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        (doc,) = con.execute(f"select schema from {dataset}._dlt_version where schema_name = ? "
                             "order by inserted_at desc limit 1", [source]).fetchone()
    finally:
        con.close()
    tables = json.loads(doc)["tables"]
    keys = {}
    for name, table in tables.items():
        cols = table.get("columns", {})
        keys[name] = [c for c, h in cols.items() if h.get("primary_key")] or \
                     [c for c, h in cols.items() if h.get("unique") and c not in VOLATILE]
    return keys


@dataclass(frozen=True)
class TableFingerprint:
    rows: int
    key_checksum: str
    duplicate_keys: int


def fingerprint(path: Path, source: str, dataset: str = "raw") -> dict[str, TableFingerprint]:
    """Per raw table: rows, an md5 over the sorted keys (all non-volatile columns where dlt knows no key, e.g.
    nested tables), and how many rows repeat a key."""
    keys = key_columns(path, source, dataset)
    out = {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        for table in raw_tables(path, dataset):
            columns = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position", [dataset, table]).fetchall()]
            key = keys.get(table) or [c for c in columns if c not in VOLATILE]
            expr = ", ".join(f'coalesce(cast("{c}" as varchar), \'<null>\')' for c in key)
            rows = con.execute(f'select concat_ws(\'|\', {expr}) as k from {dataset}."{table}" order by k').fetchall()
            digest = hashlib.md5("\n".join(r[0] for r in rows).encode()).hexdigest()
            out[table] = TableFingerprint(len(rows), digest, len(rows) - len({r[0] for r in rows}))
    finally:
        con.close()
    return out


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def ledger_rows(path: Path, source: str | None = None) -> list[dict]:
    """ops.pipeline_runs as dicts, oldest first ([] when there is no ledger yet)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        exists = con.execute("select count(*) from information_schema.tables where table_schema = 'ops' "
                             "and table_name = 'pipeline_runs'").fetchone()[0]
        if not exists:
            return []
        cursor = con.execute("select * from ops.pipeline_runs" + (" where source = ?" if source else "")
                             + " order by started_at", [source] if source else [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    finally:
        con.close()


def warehouse_env(folder: Path) -> dict[str, str]:
    """A DuckDB warehouse and dlt folder of its own under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return {"WAREHOUSE_PATH": str(folder / "warehouse.duckdb"), "PIPELINES_DIR": str(folder / "dlt_pipelines"),
            "PIPELINE_DESTINATION": "duckdb"}

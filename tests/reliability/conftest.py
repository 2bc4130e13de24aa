"""Reliability fixtures: a small synthetic life (fast runs), its Takeout export, and env for each source."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sandbox.app import SandboxConfig
from sandbox.fitbit_data import generate_health
from sandbox.fitbit_export import write_export
from sandbox.life import LifeConfig, SyntheticLife
from sandbox.server import SandboxServer
from tests.reliability.harness import FAST_RETRIES

SMALL_LIFE = LifeConfig(seed=42, start=date(2025, 1, 1), days=30)
EXPORT_LIFE = LifeConfig(seed=42, start=date(2025, 1, 1), days=60)  # the smallest life every replica generates

_CLEARED = ("FORCE_FULL_REFRESH", "NOTION_FULL_REFRESH", "HUBSPOT_FULL_REFRESH", "FITBIT_FULL_REFRESH",
            "FITBIT_EXPORT_FULL_REFRESH", "PIPELINE_TEST_KILL_AT", "RUN_LEDGER")


@pytest.fixture(scope="module")
def small_sandbox():
    """One sandbox per module: the crash and fault tests read it, they do not edit it."""
    with SandboxServer(SandboxConfig(life=SMALL_LIFE)) as server:
        yield server


@pytest.fixture
def fresh_sandbox():
    """A sandbox of its own (tests that inject faults)."""
    with SandboxServer(SandboxConfig(life=SMALL_LIFE)) as server:
        yield server


@pytest.fixture(scope="module")
def small_export(tmp_path_factory) -> Path:
    health = generate_health(SyntheticLife(EXPORT_LIFE), heart_rate_interval=600)
    return write_export(health, tmp_path_factory.mktemp("export") / "takeout").path


def source_env(source: str, sandbox: SandboxServer | None, export: Path | None = None) -> dict[str, str]:
    """What a user configures for `source`, pointing at the sandbox (or the export), with fast retries."""
    env = dict(FAST_RETRIES)
    if source == "fitbit_export":
        env["SOURCES__FITBIT_EXPORT__PATH"] = str(export)
    else:
        prefix = f"SOURCES__{source.upper()}__"
        env.update({k: v for k, v in sandbox.pipeline_env().items() if k.startswith(prefix)})
    return env


@pytest.fixture
def clean_env(monkeypatch):
    """No full-refresh switches or kill knobs leaking in from the caller's environment."""
    for var in _CLEARED:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


@pytest.fixture
def warehouse_query():
    """Run SQL against a DuckDB file and close the connection (the file is locked while it is open)."""
    import duckdb

    def query(path: Path, sql: str) -> list[tuple]:
        con = duckdb.connect(str(path), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    return query

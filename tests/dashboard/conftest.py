"""A warehouse built once per module by the real pipeline and dbt, for the dashboard tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipelines.common.runner import run_source
from pipelines.notion import notion_source
from sandbox.app import SandboxConfig
from sandbox.server import SandboxServer
from tests.conftest import TEST_LIFE, built_once, run_dbt


@contextmanager
def scoped_env() -> Iterator[None]:
    """Module- and session-scoped fixtures cannot use monkeypatch: restore the environment by hand."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def notion_only_warehouse(tmp_path_factory) -> Path:
    """Only the Notion source configured: the other pages must show a friendly note, never a traceback."""
    tmp = tmp_path_factory.mktemp("dash")
    path = tmp / "warehouse.duckdb"
    with scoped_env(), SandboxServer(SandboxConfig(life=TEST_LIFE)) as server:
        os.environ.update(server.pipeline_env())
        os.environ.update({"WAREHOUSE_PATH": str(path), "PIPELINES_DIR": str(tmp / "state"),
                           "PIPELINE_DESTINATION": "duckdb"})
        run_source("notion", notion_source)
        run_dbt("build", "--vars", "{data_origin: synthetic sandbox}", "--select",
                "source:notion+ dim_date warehouse_info habit_categories", "--indirect-selection", "cautious")
    return path


@pytest.fixture(scope="session")
def full_warehouse(tmp_path_factory) -> Path:
    """Every source loaded the way `make demo` loads it (same function), then the whole dbt project built; built
    once per session and shared by the workers (the pages only read it)."""
    from scripts.demo import load_all_sources

    def build(tmp: Path) -> None:
        # a heart-rate sample every ~5 minutes keeps the build quick; the page code does not care about density
        with scoped_env(), SandboxServer(SandboxConfig(life=TEST_LIFE, fitbit_heart_rate_interval=300)) as server:
            os.environ.update({"WAREHOUSE_PATH": str(tmp / "warehouse.duckdb"), "PIPELINES_DIR": str(tmp / "state"),
                               "PIPELINE_DESTINATION": "duckdb"})
            load_all_sources(server, tmp)
            run_dbt("build", "--vars", "{data_origin: synthetic sandbox}", "--target-path", str(tmp / "dbt"),
                    "--log-path", str(tmp / "dbt" / "logs"))

    return built_once(tmp_path_factory, "dashboard-full-warehouse", build) / "warehouse.duckdb"

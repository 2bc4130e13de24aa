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
from tests.conftest import TEST_LIFE, run_dbt


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
def full_warehouse(reference_warehouse) -> Path:
    """Every source loaded the way `make demo` loads it (same function), then the whole dbt project built: the
    suite's reference warehouse (tests/fixtures/reference_warehouse.py), which the pages only read."""
    return reference_warehouse.path

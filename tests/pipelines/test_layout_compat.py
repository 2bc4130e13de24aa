"""The per-source packages are a move, not a migration: the new code, run on a warehouse the old flat-module code
wrote, finds its state, cursors and tables where the old code left them and loads 0 rows.

The old code is the `pipelines/` tree of commit fa85249 (the last flat layout), kept as a tarball so this test
needs no git history: tests/fixtures/legacy/pipelines-fa85249.tar.gz (`git archive fa85249 pipelines .dlt/config.toml`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from pipelines.common.runner import run_source
from pipelines.hubspot import hubspot_source
from pipelines.notion import notion_source

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy" / "pipelines-fa85249.tar.gz"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def legacy_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("legacy")
    with tarfile.open(LEGACY) as tar:
        tar.extractall(root, filter="data")
    assert (root / "pipelines" / "notion.py").is_file(), "the fixture holds the flat layout"
    return root


def _run_legacy(tree: Path, module: str) -> subprocess.CompletedProcess:
    """The old code as its users ran it (`python -m pipelines.<x>`), on the test's warehouse and dlt dir."""
    env = {**os.environ, "PYTHONPATH": str(tree), "RUN_LEDGER": "off"}
    result = subprocess.run([sys.executable, "-m", module], cwd=tree, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _data_rows(rows: dict[str, int], source: str) -> dict[str, int]:
    return {t: n for t, n in rows.items() if n and t != f"{source}__rejected"}


@pytest.mark.parametrize(("source", "build", "env_prefix"), [
    ("notion", notion_source, "SOURCES__NOTION__"),
    ("hubspot", hubspot_source, "SOURCES__HUBSPOT__"),
])
def test_new_layout_continues_where_the_flat_layout_stopped(source, build, env_prefix, sandbox_server, warehouse,
                                                           monkeypatch, legacy_tree):
    for name, value in sandbox_server.pipeline_env().items():
        if name.startswith(env_prefix):
            monkeypatch.setenv(name, value)
    legacy = _run_legacy(legacy_tree, f"pipelines.{source}")
    assert f"{source}__" in legacy.stdout, legacy.stdout  # the old code loaded rows into this warehouse
    tables = {t for (t,) in warehouse.query(
        "select table_name from information_schema.tables where table_schema = 'raw'")}
    counts = {t: warehouse.count(f"raw.{t}") for t in tables if t.startswith(f"{source}__")}

    report = run_source(source, build)

    if source == "notion":
        # The flat layout's query sent `in_trash: true`, which the sandbox answers as the real API reads it: only
        # trashed pages. So the old code loaded the trashed pages and moved its one cursor past every live page
        # edited before them. The upgrade must not trust that cursor blindly: the first run's reconcile lists
        # the live ids, finds the ones raw lacks, and loads them; after that the source converges to 0 rows.
        live = {p.id for p in sandbox_server.sandbox.notion.ws.pages.values() if not p.in_trash}
        in_raw = {i for (i,) in warehouse.query("select page_id from raw.notion__habit_pages where not is_deleted")}
        assert in_raw == live
        assert report.rows["notion__habit_pages"] >= len(live) - counts["notion__habit_pages"]
        counts = {t: warehouse.count(f"raw.{t}") for t in counts}
        report = run_source(source, build)
    assert _data_rows(report.rows, source) == {}, f"the new code reloaded what the old code had: {report.rows}"
    assert {t: warehouse.count(f"raw.{t}") for t in counts} == counts

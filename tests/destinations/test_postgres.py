"""Every source loaded from the sandbox into a real PostgreSQL and into DuckDB builds the same marts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg2
import pytest

from pipelines.common.cli import RunReport, run_source
from sandbox.server import SandboxServer
from scripts.postgres_server import PostgresServer
from tests.conftest import run_dbt
from tests.destinations.marts import (
    buildable_nodes,
    load_manifest,
    mart_relations,
    table_diff,
    unit_tests_run,
    upstream_sources,
)


@dataclass(frozen=True)
class SourceLoader:
    """One source's load step; `source` is both the dlt pipeline name and the dbt source name."""

    source: str
    load: Callable[[SandboxServer, Path], RunReport]


def load_notion(sandbox: SandboxServer, workdir: Path) -> RunReport:
    from pipelines.notion import notion_source

    return run_source("notion", notion_source)


# add a source here when its pipeline lands; its marts are then built and compared too
LOADERS = [SourceLoader("notion", load_notion)]


def load_all(sandbox: SandboxServer, workdir: Path) -> dict[str, RunReport]:
    return {loader.source: loader.load(sandbox, workdir) for loader in LOADERS}


def dbt_build(target: str, target_path: Path, selected: list[str]) -> Path:
    # a private target/log path: other dbt runs (people, other tests) share dbt/target
    run_dbt("build", "--select", *selected, "--indirect-selection", "cautious",
            "--target-path", str(target_path), "--log-path", str(target_path / "logs"), target=target)
    return target_path


def duckdb_table(path: Path, relation: str) -> tuple[list[str], list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cur = con.execute(f"select * from {relation}")
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()


def postgres_table(pg: PostgresServer, relation: str) -> tuple[list[str], list[tuple]]:
    con = psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, dbname=pg.dbname)
    try:
        with con.cursor() as cur:
            cur.execute(f"select * from {relation}")
            return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_postgres_marts_match_duckdb(sandbox_server, warehouse, postgres_env, monkeypatch, tmp_path):
    for name, value in sandbox_server.pipeline_env().items():
        monkeypatch.setenv(name, value)
    run_dbt("parse", "--target-path", str(tmp_path / "parse"), "--log-path", str(tmp_path / "parse" / "logs"))
    selected = buildable_nodes(load_manifest(tmp_path / "parse"), {loader.source for loader in LOADERS})

    # DuckDB: the reference run
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "dlt_duckdb"))
    duck_reports = load_all(sandbox_server, tmp_path)
    duck_manifest = load_manifest(dbt_build("dev", tmp_path / "dbt_duckdb", selected))

    # Postgres: same sources, same models; dlt state kept apart so the cursor starts from scratch
    monkeypatch.setenv("PIPELINE_DESTINATION", "postgres")
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "dlt_postgres"))
    started = time.monotonic()
    pg_reports = load_all(sandbox_server, tmp_path)
    load_seconds = time.monotonic() - started
    started = time.monotonic()
    pg_manifest = load_manifest(dbt_build("postgres", tmp_path / "dbt_postgres", selected))
    dbt_seconds = time.monotonic() - started
    # run_dbt fails the test on any failing model, data test or unit test; make sure unit tests were in it
    assert unit_tests_run(tmp_path / "dbt_postgres"), "dbt build on Postgres ran no unit tests"

    for source, report in pg_reports.items():
        assert report.rows, f"{source} loaded nothing into Postgres"
        assert report.rows == duck_reports[source].rows, f"{source} raw row counts differ"

    duck_marts, pg_marts = mart_relations(duck_manifest, selected), mart_relations(pg_manifest, selected)
    assert duck_marts.keys() == pg_marts.keys()
    assert "dim_date" in duck_marts
    upstream = upstream_sources(duck_manifest)
    for loader in LOADERS:  # each loaded source feeds at least one mart, or the comparison proves little
        assert any(loader.source in upstream[name] for name in duck_marts), f"no mart reads {loader.source}"

    counts, diffs = {}, []
    for name in sorted(duck_marts):
        duck_cols, duck_rows = duckdb_table(warehouse.path, duck_marts[name])
        pg_cols, pg_rows = postgres_table(postgres_env, pg_marts[name])
        counts[name] = (len(duck_rows), len(pg_rows))
        assert duck_rows, f"{name} is empty on DuckDB: the comparison would prove nothing"
        diff = table_diff(name, (duck_cols, pg_cols), (duck_rows, pg_rows), ("duckdb", "postgres"))
        if diff:
            diffs.append(diff)

    print(f"\npostgres: server start {postgres_env.start_seconds:.1f} s, load {load_seconds:.1f} s, "
          f"dbt build {dbt_seconds:.1f} s")
    for name, (on_duck, on_pg) in counts.items():
        print(f"  {name}: duckdb {on_duck} rows, postgres {on_pg} rows")
    assert not diffs, "marts differ between DuckDB and Postgres:\n" + "\n".join(diffs)

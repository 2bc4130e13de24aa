"""Every source loaded from the sandbox into a real PostgreSQL and into DuckDB builds the same marts."""

from __future__ import annotations

import time
from functools import partial

import psycopg2
import pytest

from scripts.postgres_server import PostgresServer
from tests.destinations.loaders import DBT_SOURCES, LOADERS, destination_sandbox, load_all, pipeline_env
from tests.destinations.marts import (
    LEDGER_SOURCE,
    BuiltMarts,
    Table,
    assert_same_marts,
    compare_marts,
    dbt_build,
    duckdb_table,
    load_manifest,
    selection,
    unit_tests_run,
)
from tests.fixtures.reference_warehouse import DBT_VARS


def postgres_table(pg: PostgresServer, relation: str) -> Table:
    con = psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, dbname=pg.dbname)
    try:
        with con.cursor() as cur:
            cur.execute(f"select * from {relation}")
            return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_postgres_marts_match_duckdb(reference_warehouse, postgres_env, monkeypatch, tmp_path):
    """Postgres loads what the suite's DuckDB reference loaded (the same sandbox year, the same load function) and
    builds the same marts from it."""
    dbt_sources = DBT_SOURCES | {LEDGER_SOURCE}  # the ops marts over each destination's own run ledger too
    selected = selection(load_manifest(reference_warehouse.target), dbt_sources)
    assert {"pipeline_health", "fct_pipeline_runs", "data_recency"} <= set(selected)

    # DuckDB: the reference, loaded and built once for the session
    duck = BuiltMarts("duckdb", load_manifest(reference_warehouse.target),
                      partial(duckdb_table, reference_warehouse.path))
    duck_rows = reference_warehouse.rows()

    # Postgres: same sources from a sandbox of the same year, same models; dlt state of its own
    monkeypatch.setenv("PIPELINE_DESTINATION", "postgres")
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "dlt_postgres"))
    with destination_sandbox() as sandbox:
        for name, value in pipeline_env(sandbox, tmp_path).items():
            monkeypatch.setenv(name, value)
        started = time.monotonic()
        pg_reports = load_all(sandbox, tmp_path)
        load_seconds = time.monotonic() - started
    started = time.monotonic()
    pg = BuiltMarts("postgres", dbt_build("postgres", tmp_path / "dbt_postgres", selected, DBT_VARS),
                    partial(postgres_table, postgres_env))
    dbt_seconds = time.monotonic() - started
    # run_dbt fails the test on any failing model, data test or unit test; make sure unit tests were in it
    assert unit_tests_run(tmp_path / "dbt_postgres"), "dbt build on Postgres ran no unit tests"

    for pipeline, report in pg_reports.items():
        assert report.rows, f"{pipeline} loaded nothing into Postgres"
        assert report.rows == duck_rows[pipeline], f"{pipeline} raw row counts differ"
        assert report.run_id, f"{pipeline}'s run was not written to the ledger in Postgres"

    counts, diffs = compare_marts(selected, dbt_sources, duck, pg)
    assert counts["fct_pipeline_runs"] == (len(LOADERS), len(LOADERS))  # every run, in each destination's ledger
    assert counts["pipeline_health"] == (len(LOADERS), len(LOADERS))  # one row per pipeline
    assert_same_marts("postgres", pg_reports, counts, diffs,
                      f"server start {postgres_env.start_seconds:.1f} s, load {load_seconds:.1f} s, "
                      f"dbt build {dbt_seconds:.1f} s")

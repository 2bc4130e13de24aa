"""Every source loaded from the sandbox into BigQuery (a local emulator) merges in place and builds the marts DuckDB builds.

The emulator is a test double: it proves our dlt and dbt code drive the BigQuery adapters correctly
(types, merges, nested tables, dbt's BigQuery SQL), not BigQuery's own behaviour. See
shared/bigquery-emulator.md for what it covers and where it differs.
"""

from __future__ import annotations

import io
import time
from functools import partial

import dlt
import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.destinations.loaders import DBT_SOURCES, LOADERS, load_all
from tests.destinations.marts import (
    LEDGER_SOURCE,
    BuiltMarts,
    assert_same_marts,
    compare_marts,
    dbt_build,
    duckdb_table,
    load_manifest,
    selection,
    unit_tests_run,
)
from tests.fixtures import bigquery as bigquery_fixtures
from tests.fixtures.reference_warehouse import DBT_VARS

CONTACTS = "raw.hubspot__contacts"
PAGES = "raw.notion__habit_pages"
PAGE_PROPERTIES = "raw.notion__habit_pages__properties"


def edit_in_the_sandbox(sandbox) -> tuple[str, str]:
    """A Notion page's sleep hours and a HubSpot contact's job title change, through the sandbox's admin API."""
    notion = sandbox.sandbox.notion.ws
    daily = next(ds for ds in notion.data_sources.values()
                 if any(p.name == "Sleep hours" for p in ds.properties.values()))
    page = next(p for p in notion.pages.values() if p.data_source_id == daily.id and not p.in_trash)
    contact = sandbox.sandbox.hubspot.portal.records("contacts", archived=False)[5]
    for url, changes in ((f"{sandbox.url}/_sandbox/notion/pages/{page.id}", {"Sleep hours": 11.5}),
                         (f"{sandbox.url}/_sandbox/hubspot/contacts/{contact.id}", {"jobtitle": "Chief Gardener"})):
        httpx.post(url, json={"changes": changes}, timeout=10).raise_for_status()
    return page.id, contact.id


@pytest.mark.slow
# the suite's longest test (two loads and a whole dbt build through the emulator's SQL translation): 600 s, the
# default, is its typical time on a loaded 2-core machine, so its hang guard is longer
@pytest.mark.timeout(1500)
# dlt asks google-cloud-bigquery for a Storage API client when it reads results; not installed, and the
# emulator's REST answers are what the test should read anyway
@pytest.mark.filterwarnings("ignore:Cannot create BigQuery Storage client")
def test_bigquery_loads_merge_in_place_and_build_the_duckdb_marts(pipelines_sandbox, reference_warehouse, bigquery_env,
                                                                   monkeypatch, tmp_path):
    emulator = bigquery_env

    def scalar(sql: str):
        return emulator.query(sql)[1][0][0]

    def raw_counts() -> dict[str, int]:
        return {t: scalar(f"select count(*) from {t}") for t in (CONTACTS, PAGES, PAGE_PROPERTIES)}

    dbt_sources = DBT_SOURCES | {LEDGER_SOURCE}  # the ops marts over each destination's own run ledger too
    selected = selection(load_manifest(reference_warehouse.target), dbt_sources)
    assert {"pipeline_health", "fct_pipeline_runs", "data_recency"} <= set(selected)

    # BigQuery loads every source, then again after an edit in the sandbox; DuckDB's first load is the suite's
    # reference warehouse (the same sandbox year, the same load function), and a copy of it with its dlt state
    # takes the second load after the same edit: the same data, and the same runs in each destination's ledger
    monkeypatch.setenv("PIPELINE_DESTINATION", "bigquery")
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "dlt_bigquery"))
    started = time.monotonic()
    bq_reports = load_all(pipelines_sandbox, tmp_path)
    load_seconds = time.monotonic() - started
    for pipeline, report in bq_reports.items():
        assert report.rows, f"{pipeline} loaded nothing into BigQuery"
    before = raw_counts()
    page_id, contact_id = edit_in_the_sandbox(pipelines_sandbox)
    started = time.monotonic()
    second = load_all(pipelines_sandbox, tmp_path)
    second_seconds = time.monotonic() - started
    assert second["hubspot"].rows == {"hubspot__contacts": 1}
    assert second["notion"].rows.get("notion__habit_pages") == 1
    assert raw_counts() == before, "the edited rows were merged in place, not appended"
    assert scalar(f"select jobtitle from {CONTACTS} where id = '{contact_id}'") == "Chief Gardener"
    assert scalar(f"select value_text from {PAGE_PROPERTIES} "
                  f"where page_id = '{page_id}' and property_name = 'Sleep hours'") == "11.5"

    started = time.monotonic()
    bq = BuiltMarts("bigquery", dbt_build("emulator", tmp_path / "dbt_bigquery", selected, DBT_VARS),
                    lambda relation: emulator.query(f"select * from `{relation}`"))
    dbt_seconds = time.monotonic() - started
    assert unit_tests_run(tmp_path / "dbt_bigquery"), "dbt build on BigQuery ran no unit tests"

    # DuckDB: the reference's copy, its second load after the same edit
    duck_path, duck_state = reference_warehouse.copy_to(tmp_path / "duckdb")
    monkeypatch.setenv("PIPELINE_DESTINATION", "duckdb")
    monkeypatch.setenv("WAREHOUSE_PATH", str(duck_path))
    monkeypatch.setenv("PIPELINES_DIR", str(duck_state))
    # the export the reference imported, at the place the loaders look: its files' fingerprints are those recorded
    # (the emulator's export is the same content in other files, which a run would re-hash and re-record)
    duck_work = tmp_path / "duckdb_work"
    duck_work.mkdir()
    (duck_work / "fitbit_export").symlink_to(reference_warehouse.export, target_is_directory=True)
    duck_second = {pipeline: report.rows for pipeline, report in load_all(pipelines_sandbox, duck_work).items()}
    for duck_rows, bq_loads in ((reference_warehouse.rows(), bq_reports), (duck_second, second)):
        for pipeline, report in bq_loads.items():
            assert report.rows == duck_rows[pipeline], f"{pipeline} raw row counts differ"
            assert report.run_id, f"{pipeline}'s run was not written to the ledger in BigQuery"
    duck = BuiltMarts("duckdb", dbt_build("dev", tmp_path / "dbt_duckdb", selected, DBT_VARS),
                      partial(duckdb_table, duck_path))

    counts, diffs = compare_marts(selected, dbt_sources, duck, bq)
    assert counts["fct_pipeline_runs"] == (2 * len(LOADERS), 2 * len(LOADERS))  # two loads, in each ledger
    assert_same_marts("bigquery", bq_reports, counts, diffs,
                      f"emulator start {emulator.start_seconds:.1f} s, load {load_seconds:.1f} s, "
                      f"second load {second_seconds:.1f} s, dbt build {dbt_seconds:.1f} s")


@pytest.mark.filterwarnings("ignore:Cannot create BigQuery Storage client")
def test_emulator_fixes_answer_like_bigquery(bigquery_env, tmp_path):
    """Each workaround in tests/destinations/bqemu/launcher.py and tests/fixtures/bigquery.py, in isolation."""
    from google.cloud import bigquery

    emulator = bigquery_env
    client = emulator.client()
    retry = bigquery.DEFAULT_RETRY.with_timeout(bigquery_fixtures.CALL_TIMEOUT)

    def run(sql: str, **config) -> list[tuple]:
        job = client.query(sql, job_config=bigquery.QueryJobConfig(**config), retry=retry, job_retry=None,
                           timeout=bigquery_fixtures.CALL_TIMEOUT)
        return [tuple(row.values()) for row in job.result(retry=retry, timeout=bigquery_fixtures.CALL_TIMEOUT)]

    client.create_dataset("ds", timeout=30)
    run("create table ds.t as select 1 as id, 'a' as name, 0.5 as score union all select 2, 'b', 1.5")
    in_ds = {"default_dataset": f"{bigquery_fixtures.PROJECT}.ds"}
    # bug 3: the first page of results is not taken to be empty (dlt's Arrow reads got 0 rows)
    pipeline = dlt.pipeline("emulator_check", destination=dlt.destinations.bigquery(credentials=emulator.credentials()),
                            dataset_name="ds", pipelines_dir=str(tmp_path / "dlt"))
    pipeline.run([{"id": 1}, {"id": 2}], table_name="loaded")
    assert pipeline.dataset().loaded.arrow().num_rows == 2
    # bug 1 (client side: jobs.insert, not jobs.query): the default dataset qualifies `t`
    assert client.query_and_wait("select count(*) from t", job_config=bigquery.QueryJobConfig(**in_ds),
                                 wait_timeout=30, api_timeout=30).total_rows == 1
    # bug 2: fully qualified INFORMATION_SCHEMA with a default dataset
    tables = run(f"select table_name from `{bigquery_fixtures.PROJECT}`.`ds`.INFORMATION_SCHEMA.TABLES", **in_ds)
    assert {("t",), ("loaded",)} <= set(tables)
    # temp tables of a script (dlt's merge jobs) are not put into the default dataset
    run("create temporary table gone as select id from ds.t where id = 1;\n"
        f"delete from `{bigquery_fixtures.PROJECT}`.`ds`.`t` where id in (select * from gone);", **in_ds)
    assert run("select id from ds.t") == [(2,)]
    # Parquet loads match columns by name and leave the others NULL
    buffer = io.BytesIO()
    pq.write_table(pa.table({"name": ["c"], "id": [3]}), buffer)
    buffer.seek(0)
    client.load_table_from_file(buffer, "ds.t", job_config=bigquery.LoadJobConfig(source_format="PARQUET"),
                                timeout=30).result(timeout=30)
    assert run("select id, name, score from ds.t where id = 3") == [(3, "c", None)]
    # approx_quantiles(...)[offset(n)] picks the n-th quantile, not the next one
    assert run("select approx_quantiles(x, 2)[offset(1)] from unnest([8000, 12000, 9000]) as x") == [(9000,)]
    # the speed patches answer the same: an implicit UNNEST after a table and after a subquery (whose alias is
    # read without copying its body), and one statement run twice (its parse is cached, each run edits a copy)
    run("create table ds.arrays as select 1 as id, [3, 4] as nums")
    assert sorted(run("select id, n from ds.arrays, arrays.nums as n")) == [(1, 3), (1, 4)]
    after_subquery = "select s.id, n from (select id, nums from ds.arrays where id = 1) as s, s.nums as n"
    assert sorted(run(after_subquery)) == [(1, 3), (1, 4)]
    assert sorted(run(after_subquery)) == [(1, 3), (1, 4)]


def test_an_emulator_that_cannot_start_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(bigquery_fixtures, "BQEMU_PYTHON", tmp_path / "missing" / "python")
    with pytest.raises(bigquery_fixtures.EmulatorStartError, match="make install"):
        bigquery_fixtures.start_emulator(tmp_path / "emulator")

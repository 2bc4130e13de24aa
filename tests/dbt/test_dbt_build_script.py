"""`make dbt-build` (scripts/dbt_build.py) builds what the present sources feed, on a warehouse holding only some.

Also the two freshness checks of the transform: pipeline freshness (`dbt run-operation
check_pipeline_freshness`, an error naming the source) and data recency (`--source-freshness`, warnings
only, for the present sources only).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.common.runner import run_source
from scripts import dbt_build
from scripts.dbt_build import parse_args_of, plan, upstream_source_tables
from tests.conftest import REPO, run_dbt, run_main
from tests.dbt_cache import warm_dbt
from tests.fixtures.fitbit import FITBIT_TEST_LIFE

ABSENT = re.compile(r"^dbt_build: sources absent: ([a-z_, ]+) \(.+\)$", re.M)


# --- the plan, on a small manifest ---

def _manifest() -> dict:
    def source(name, table):
        return f"source.p.{name}.{table}", {"source_name": name, "name": table}

    def node(name, *deps, optional=(), resource_type="model"):
        return f"model.p.{name}", {"name": name, "resource_type": resource_type, "depends_on": {"nodes": list(deps)},
                                   "config": {"meta": {"optional_source_tables": list(optional)} if optional else {}}}

    return {
        "sources": dict([source("notion", "pages"), source("hubspot", "contacts"), source("hubspot", "links"),
                         source("fitbit", "sleep"), source("fitbit", "export_files"), source("ops", "runs")]),
        "nodes": dict([
            node("stg_pages", "source.p.notion.pages"),
            node("stg_contacts", "source.p.hubspot.contacts"),
            node("stg_links", "source.p.hubspot.links", "model.p.stg_contacts", optional=["hubspot.links"]),
            node("contact_links", "model.p.stg_links"),
            node("stg_sleep", "source.p.fitbit.sleep"),
            node("stg_runs", "source.p.ops.runs", optional=["ops.runs"]),
            node("dim_date"),
            node("categories", resource_type="seed"),
            node("daily", "model.p.stg_pages", "model.p.stg_sleep"),
        ]),
    }


def test_only_what_present_tables_feed_is_built_and_optional_reads_never_hold_a_model_back():
    manifest = _manifest()
    # only a Fitbit export and its ledger row: no notion, no hubspot, no export-files table needed by anyone
    p = plan(manifest, {"fitbit.sleep", "ops.runs"})
    assert p.buildable == ["categories", "dim_date", "stg_runs", "stg_sleep"]
    assert p.absent_sources == ["hubspot", "notion"]
    assert p.absent_tables == []  # fitbit.export_files is read by no model
    assert p.summary()[0] == "sources absent: hubspot, notion (their models are skipped)"
    assert set(p.skipped) == {"stg_pages", "stg_contacts", "stg_links", "contact_links", "daily"}
    assert p.absent_source_selectors(manifest) == [
        "source:fitbit.export_files", "source:hubspot.contacts", "source:hubspot.links", "source:notion.pages"]
    # no ledger yet either: named absent too, but its reader builds (empty)
    p = plan(manifest, {"fitbit.sleep"})
    assert "stg_runs" in p.buildable and p.absent_sources == ["hubspot", "notion", "ops"]
    assert p.summary()[0] == ("sources absent: hubspot, notion, ops (models that need them are skipped, "
                              "models that only read them if present build empty)")
    # HubSpot without any association loaded: the optional reader still builds, and so does what it feeds
    p = plan(manifest, {"hubspot.contacts", "notion.pages", "fitbit.sleep"})
    assert {"stg_contacts", "stg_links", "contact_links", "daily"} <= set(p.buildable)
    assert p.absent_sources == ["ops"] and p.complete and p.absent_tables == []
    # a present source missing a table a model needs: named as a table, that model skipped
    p = plan(manifest, {"hubspot.links", "notion.pages"})
    assert p.absent_tables == ["hubspot.contacts"]
    assert "contact_links" in p.skipped and "stg_links" in p.skipped  # stg_links also reads stg_contacts


def test_the_run_operation_before_the_build_parses_with_the_builds_vars():
    """dbt parses the whole project again when the vars differ from its last parse: the script's run-operation took
    none, so `make dbt-build DBT_BUILD_ARGS="--vars ..."` parsed twice in full (and the next run again)."""
    assert parse_args_of(["--select", "x", "--vars", "{a: 1}", "--full-refresh"]) == ["--vars", "{a: 1}"]
    assert parse_args_of(["--vars={a: 1}"]) == ["--vars", "{a: 1}"]
    assert parse_args_of(["--full-refresh", "--select", "x"]) == []


def test_optional_source_tables_come_from_the_source_if_exists_macro(tmp_path):
    run_dbt("parse", "--target-path", str(tmp_path), "--log-path", str(tmp_path / "logs"))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    required = upstream_source_tables(manifest)
    assert "ops.pipeline_runs" not in required["stg_ops__pipeline_runs"]
    assert required["stg_hubspot__engagement_associations"] == {"hubspot.hubspot__engagements"}
    assert required["stg_hubspot__engagements"] == {"hubspot.hubspot__engagements"}
    assert required["data_recency"] == set()  # lists whatever source tables exist, at run time


# --- the script on real warehouses ---

def dbt_build_script(warehouse: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """`make dbt-build` as a user runs it (`python -m scripts.dbt_build`), on the DuckDB file `warehouse`: its
    `main` in this process, with the environment and output a subprocess would have (tests/ops/test_onboarding.py
    runs `make dbt-build` itself, as a process)."""
    env = {**os.environ, "WAREHOUSE_PATH": str(warehouse), "DBT_TARGET": "dev",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    argv = ["--target-path", str(workdir / "dbt"), "--log-path", str(workdir / "dbt" / "logs"), *args]
    cmd = [sys.executable, "-m", "scripts.dbt_build", *argv]
    with warm_dbt(cmd, env) as env:
        return run_main(dbt_build.main, argv, env=env, cwd=REPO)


def query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def tables(warehouse: Path, schema: str) -> set[str]:
    return {t for (t,) in query(warehouse, f"select table_name from information_schema.tables "
                                           f"where table_schema = '{schema}'")}


def absent_sources(stdout: str) -> set[str]:
    """The sources the script named absent, from its one line saying so."""
    (line,) = ABSENT.findall(stdout)
    return set(line.split(", "))


def raw_sources(warehouse: Path) -> set[str]:
    """The `<source>` prefixes of the raw tables present (tables are named `<source>__<entity>`)."""
    return {t.split("__", 1)[0] for t in tables(warehouse, "raw") if "__" in t and not t.startswith("_dlt")}


def watched_tables(manifest: dict, warehouse: Path) -> set[str]:
    """`<source>.<table>` of the present source tables the sources YAML gives a warn_after (data recency)."""
    present = tables(warehouse, "raw")
    return {f'{s["source_name"]}.{s["name"]}' for s in manifest["sources"].values()
            if ((s.get("freshness") or {}).get("warn_after") or {}).get("count") and s.get("loaded_at_field")
            and s["name"] in present}


def copy_of(warehouse: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    return copy


@pytest.fixture(scope="module")
def export_only(tmp_path_factory) -> Path:
    """A warehouse holding only a Fitbit data export (and the ledger row of its import)."""
    from pipelines.fitbit.export import fitbit_export_source
    from sandbox.fitbit_data import generate_health
    from sandbox.fitbit_export import write_export
    from sandbox.life import SyntheticLife

    tmp = tmp_path_factory.mktemp("export_only")
    export = write_export(generate_health(SyntheticLife(FITBIT_TEST_LIFE), heart_rate_interval=600), tmp / "export")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_PATH", str(tmp / "warehouse.duckdb"))
        mp.setenv("PIPELINES_DIR", str(tmp / "dlt"))
        mp.setenv("PIPELINE_DESTINATION", "duckdb")
        run_source("fitbit_export", lambda: fitbit_export_source(path=str(export.path)))
    return tmp / "warehouse.duckdb"


@pytest.fixture(scope="module")
def export_only_built(export_only, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess, dict]:
    """That warehouse after `make dbt-build`, what the script printed, and dbt's manifest of the build."""
    tmp = tmp_path_factory.mktemp("export_only_built")
    warehouse = copy_of(export_only, tmp)
    result = dbt_build_script(warehouse, tmp)
    return warehouse, result, json.loads((tmp / "dbt" / "manifest.json").read_text())


def test_an_export_only_warehouse_builds_its_marts_and_names_the_absent_sources(export_only_built):
    warehouse, result, manifest = export_only_built
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    absent = absent_sources(result.stdout)
    assert {"hubspot", "notion"} <= absent
    assert not absent & raw_sources(warehouse), "a source with raw tables was called absent"
    assert "ERROR=0" in result.stdout and "SKIP=0" in result.stdout
    marts = tables(warehouse, "marts")
    assert {"health_daily", "fct_sleep_sessions", "fct_daily_activity", "dim_date"} <= marts
    assert not marts & {"fct_habit_logs", "dim_contacts", "fct_engagements"}
    assert query(warehouse, "select count(*) from marts.health_daily")[0][0] > 0
    # the ops marts over the ledger, and data recency for the one present source only
    assert query(warehouse, "select source_name, freshness_status from marts.pipeline_health") == [
        ("fitbit_export", "fresh")]
    assert query(warehouse, "select source_name, status from marts.fct_pipeline_runs") == [("fitbit_export", "success")]
    recency = query(warehouse, "select source_name, table_name, recency_status from marts.data_recency")
    assert {f"{s}.{t}" for s, t, _ in recency} == watched_tables(manifest, warehouse)
    assert {status for _, _, status in recency} <= {"warn"}  # the test life ended in 2025


def test_a_failing_test_on_a_present_source_still_fails_the_build(export_only, export_only_built, tmp_path):
    warehouse = copy_of(export_only, tmp_path)
    # a `unique` test of a raw table this warehouse has, and a duplicate row for it
    manifest, present = export_only_built[2], tables(warehouse, "raw")
    unique_tests = sorted(
        (test["name"], manifest["sources"][parent]["name"]) for test in manifest["nodes"].values()
        if test["resource_type"] == "test" and (test.get("test_metadata") or {}).get("name") == "unique"
        for parent in test["depends_on"]["nodes"]
        if parent in manifest["sources"] and manifest["sources"][parent]["name"] in present)
    assert unique_tests, "no unique test on the export's raw tables"
    test_name, table = unique_tests[0]
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"insert into raw.{table} select * from raw.{table} limit 1")
    finally:
        con.close()
    result = dbt_build_script(warehouse, tmp_path)
    assert result.returncode != 0
    assert {"hubspot", "notion"} <= absent_sources(result.stdout)
    assert f"Failure in test {test_name}" in result.stdout


def test_data_recency_warns_for_present_sources_and_skips_absent_ones(export_only, export_only_built, tmp_path):
    warehouse = copy_of(export_only, tmp_path)
    result = dbt_build_script(warehouse, tmp_path, "--source-freshness")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    results = json.loads((tmp_path / "dbt" / "sources.json").read_text())["results"]
    checked = {r["unique_id"].split(".", 2)[2]: r["status"] for r in results}
    # only present tables with a warn_after are checked (Notion and HubSpot are not), the same ones the
    # data_recency mart lists; the export's newest record is from 2025: a warning, never an error
    assert set(checked) == watched_tables(export_only_built[2], warehouse)
    assert set(checked.values()) <= {"warn"}
    recency = query(export_only_built[0], "select source_name, table_name from marts.data_recency")
    assert set(checked) == {f"{source}.{table}" for source, table in recency}


def test_pipeline_freshness_fails_naming_the_source_that_stopped_loading(export_only_built, tmp_path, monkeypatch):
    warehouse = copy_of(export_only_built[0], tmp_path)
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))
    paths = ("--target-path", str(tmp_path / "dbt"), "--log-path", str(tmp_path / "dbt" / "logs"))

    def check(*dbt_vars: str) -> subprocess.CompletedProcess:
        # with the vars of the build before it: a change of vars makes dbt parse the whole project again
        return run_dbt("run-operation", "check_pipeline_freshness", *dbt_vars, *paths, check=False)

    fresh = check()
    assert fresh.returncode == 0, fresh.stdout[-3000:]
    assert "pipeline freshness: every source with a threshold loaded successfully" in fresh.stdout

    # eight days later without a successful run: past the default error_after of 168 h
    (finished,), = query(warehouse, "select max(finished_at) from marts.fct_pipeline_runs")
    later = (finished + timedelta(hours=200)).strftime("%Y-%m-%d %H:%M:%S")
    as_of = ("--vars", json.dumps({"ops_as_of": later}))
    run_dbt("build", "--select", "pipeline_health", *as_of, *paths)
    stale = check(*as_of)
    assert stale.returncode != 0
    assert "not loading: fitbit_export (last successful run 200.0 h ago, error after 168 h)" in stale.stdout

    # a source the user no longer runs: error_after null, a warning only
    never_stale = {"ops_as_of": later, "pipeline_freshness_hours": {"default": {"warn_after": 36, "error_after": None}}}
    never_stale_vars = ("--vars", json.dumps(never_stale))
    run_dbt("build", "--select", "pipeline_health", *never_stale_vars, *paths)
    quiet = check(*never_stale_vars)
    assert quiet.returncode == 0, quiet.stdout[-3000:]
    assert "pipeline freshness warning: fitbit_export (last successful run 200.0 h ago" in quiet.stdout

    # a scheduled source whose every run failed (here: Notion without its configuration)
    from pipelines.notion import notion_source

    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("PIPELINE_DESTINATION", "duckdb")
    for name in [n for n in os.environ if n.startswith("SOURCES__NOTION__")]:
        monkeypatch.delenv(name)
    with pytest.raises(Exception):  # noqa: B017 - whatever the missing setting raises, the ledger records it
        run_source("notion", notion_source)
    run_dbt("build", "--select", "stg_ops__pipeline_runs", "pipeline_health", *paths)
    failing = check()
    assert failing.returncode != 0
    assert "not loading: notion (never loaded successfully: 1 failed runs, last error: missing configuration" \
        in failing.stdout


def test_hubspot_alone_without_any_association_builds(sandbox_server, warehouse, monkeypatch, tmp_path):
    from pipelines.hubspot import hubspot_source

    for name, value in sandbox_server.pipeline_env().items():
        if name.startswith("SOURCES__HUBSPOT__"):
            monkeypatch.setenv(name, value)
    run_source("hubspot", hubspot_source)
    con = duckdb.connect(str(warehouse.path))
    try:  # as if no engagement had an association yet: dlt never created the nested table
        con.execute("drop table raw.hubspot__engagements__associations")
    finally:
        con.close()
    result = dbt_build_script(warehouse.path, tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    absent = absent_sources(result.stdout)
    assert {"fitbit", "notion"} <= absent and "hubspot" not in absent
    assert warehouse.count("staging.stg_hubspot__engagement_associations") == 0
    assert warehouse.count("marts.fct_engagements") > 0 and warehouse.count("marts.dim_contacts") > 0
    assert warehouse.count("marts.engagement_contacts") == 0
    hubspot_tables = {"hubspot.hubspot__contacts", "hubspot.hubspot__companies", "hubspot.hubspot__engagements"}
    assert {f"{s}.{t}" for s, t in warehouse.query("select source_name, table_name from marts.data_recency")} \
        == hubspot_tables

    # data recency of what is there: the sandbox year ended in 2025, so warnings, and no error for the rest
    freshness = dbt_build_script(warehouse.path, tmp_path, "--source-freshness")
    assert freshness.returncode == 0, freshness.stdout[-4000:]
    results = json.loads((tmp_path / "dbt" / "sources.json").read_text())["results"]
    assert {r["unique_id"].split(".", 2)[2]: r["status"] for r in results} == dict.fromkeys(hubspot_tables, "warn")


def test_a_warehouse_without_any_source_builds_what_needs_none(tmp_path):
    warehouse = tmp_path / "empty.duckdb"
    result = dbt_build_script(warehouse, tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    absent = absent_sources(result.stdout)
    assert {"fitbit", "hubspot", "notion", "ops"} <= absent
    assert {"dim_date", "pipeline_health", "fct_pipeline_runs", "data_recency"} <= tables(warehouse, "marts")
    assert query(warehouse, "select count(*) from marts.data_recency") == [(0,)]

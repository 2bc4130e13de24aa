"""The GitHub Actions workflows: dispatchable full refreshes, one run per source at a time, CI = make test."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
SOURCES = ["notion", "hubspot", "fitbit"]
# the full-refresh variables each workflow's input must set (fitbit runs the export pipeline, source fitbit_export)
FULL_REFRESH_VARS = {
    "notion": {"NOTION_FULL_REFRESH"},
    "hubspot": {"HUBSPOT_FULL_REFRESH"},
    "fitbit": {"FITBIT_FULL_REFRESH", "FITBIT_EXPORT_FULL_REFRESH"},
}


def load(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the bare key `on` as boolean True
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def run_lines(doc: dict) -> list[str]:
    return [step["run"] for job in doc["jobs"].values() for step in job["steps"] if "run" in step]


@pytest.mark.parametrize("source", SOURCES)
def test_refresh_workflow_dispatches_a_full_refresh_of_its_own_source(source):
    doc = load(f"refresh-{source}.yml")
    assert "schedule" in doc["on"] and doc["on"]["schedule"][0]["cron"]
    full_refresh = doc["on"]["workflow_dispatch"]["inputs"]["full_refresh"]
    assert full_refresh["type"] == "boolean" and full_refresh["default"] is False
    (job,) = doc["jobs"].values()
    env = job["env"]
    set_vars = {name for name in env if name.endswith("FULL_REFRESH")}
    assert set_vars == FULL_REFRESH_VARS[source]  # never another source's, never FORCE_FULL_REFRESH
    for name in set_vars:
        assert env[name] == "${{ inputs.full_refresh && 'true' || 'false' }}"
    assert env["PROVIDERS__ENABLE_GOOGLE_SECRETS"] == "true" and env["PIPELINE_DESTINATION"] == "bigquery"


@pytest.mark.parametrize("source", SOURCES)
def test_refresh_runs_of_one_source_never_overlap(source):
    doc = load(f"refresh-{source}.yml")
    assert doc["concurrency"] == {"group": f"refresh-{source}", "cancel-in-progress": False}


@pytest.mark.parametrize("source", SOURCES)
def test_refresh_installs_with_make_runs_the_module_and_keeps_the_log(source):
    doc = load(f"refresh-{source}.yml")
    runs = run_lines(doc)
    assert "make install" in runs
    assert any(f"-m pipelines.{source}" in r for r in runs)
    upload = next(s for s in doc["jobs"]["refresh"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"
    assert "logs/" in upload["with"]["path"] and ".dlt/pipelines/" in upload["with"]["path"]


def test_transform_follows_successful_refreshes_and_checks_freshness_first():
    doc = load("transform.yml")
    refresh_names = {load(f"refresh-{s}.yml")["name"] for s in SOURCES}
    assert set(doc["on"]["workflow_run"]["workflows"]) == refresh_names
    assert "schedule" in doc["on"]
    (job,) = doc["jobs"].values()
    assert "github.event.workflow_run.conclusion == 'success'" in job["if"]
    runs = run_lines(doc)
    freshness = next(i for i, r in enumerate(runs) if "source freshness --target prod" in r)
    build = next(i for i, r in enumerate(runs) if "build --target prod" in r)
    assert freshness < build


def test_ci_runs_make_test_like_ci_run():
    doc = load("ci.yml")
    assert {"push", "pull_request"} <= set(doc["on"])
    assert "make test" in run_lines(doc)
    ci_run = (WORKFLOWS.parents[1] / ".ci" / "run").read_text()
    assert "make test" in ci_run


def test_docs_publish_dbt_docs_from_the_demo_warehouse_to_pages():
    doc = load("docs.yml")
    runs = run_lines(doc)
    assert runs.index("make demo") < next(i for i, r in enumerate(runs) if "dbt-docs" in r or "docs generate" in r)
    uses = [s.get("uses", "") for job in doc["jobs"].values() for s in job["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)

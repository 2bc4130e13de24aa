"""Issue 13: the README's "From the demo to your data", followed command by command against the sandbox, and the
setup frictions around it (config files, the Notion snippet, where a user's values live)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from sandbox.app import SandboxConfig
from sandbox.life import LifeConfig
from sandbox.server import SandboxServer

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"


def readme_section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def fenced(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


def walkthrough_commands() -> list[str]:
    commands = []
    for block in fenced(readme_section("From the demo to your data"), "bash"):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                commands.append(line)
    return commands


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_project(tmp: Path) -> Path:
    """A settings folder as a fresh clone has it: the tracked .dlt/config.toml and no secrets.toml."""
    project = tmp / "project"
    (project / ".dlt").mkdir(parents=True)
    shutil.copy(REPO / ".dlt" / "config.toml", project / ".dlt" / "config.toml")
    return project


def base_env(tmp: Path, project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "SOURCES__", "DEMO_"))
           and k not in ("DBT_TARGET", "PIPELINES_DIR", "DBT_TARGET_PATH", "DBT_LOG_PATH", "DBT_LOG_LEVEL_FILE")}  # dbt's defaults, as a user
    env.update({
        "DLT_PROJECT_DIR": str(project),  # dlt reads <project>/.dlt/*.toml: the repo's own settings stay untouched
        "PIPELINE_DESTINATION": "duckdb",
        "WAREHOUSE_PATH": str(tmp / "warehouse.duckdb"),
        "PIPELINES_DIR": str(tmp / "dlt"),
        "DEMO_WAREHOUSE_PATH": str(tmp / "demo.duckdb"),
        "DEMO_PIPELINES_DIR": str(tmp / "demo.dlt"),
        "DEMO_DAYS": "14",
        "DEMO_HEART_RATE_INTERVAL": "300",
        "DASHBOARD_PORT": str(free_port()),
    })
    return env


def make(command: str) -> list[str]:
    """`make X` as the README says, minus the install prerequisite (this venv is installed; no network here)."""
    args = command.split()
    assert args[0] == "make", f"the walkthrough runs make targets only, not {command!r}"
    return ["make", "--no-print-directory", "-o", "install", *args[1:]]


def run(command: str, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(make(command), cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-4000:]}\n{result.stderr[-3000:]}"
    return result


def count(path: Path, table: str) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"select count(*) from {table}").fetchall()[0][0]
    finally:
        con.close()


def serve_until_healthy(command: str, env: dict[str, str], seconds: float = 90) -> str:
    """Starts the long-running command, waits for its page to answer, stops it; returns what it printed."""
    proc = subprocess.Popen(make(command), cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    url = f"http://127.0.0.1:{env['DASHBOARD_PORT']}/_stcore/health"
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"{command} exited: {proc.stdout.read()}"
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"{command}: nothing answered on {url} within {seconds:.0f} s")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    return out


def test_readme_walkthrough(tmp_path):
    from scripts.sandbox_export import write_sandbox_export

    commands = walkthrough_commands()
    assert commands == ["make demo", "make setup", "make notion", "make hubspot", "make fitbit-export",
                        "make dbt-build", "make status", "make dashboard"]
    project = fresh_project(tmp_path)
    env = base_env(tmp_path, project)
    warehouse, demo = Path(env["WAREHOUSE_PATH"]), Path(env["DEMO_WAREHOUSE_PATH"])
    life = LifeConfig(seed=11, start=date.today() - timedelta(days=30), days=30)
    export = write_sandbox_export(tmp_path / "takeout", days=30, heart_rate_interval=600)
    started = time.monotonic()
    timings = {}
    with SandboxServer(SandboxConfig(life=life)) as server:  # stands in for the user's real accounts
        sandbox = server.pipeline_env()
        # what the user types into `make setup`; later steps get nothing from the environment, only the file
        setup_env = {**env, "SOURCES__FITBIT_EXPORT__PATH": str(export)}
        setup_env.update({k: sandbox[k] for k in (
            "SOURCES__NOTION__API_TOKEN", "SOURCES__NOTION__DATABASES", "SOURCES__NOTION__API_BASE_URL",
            "SOURCES__HUBSPOT__API_TOKEN", "SOURCES__HUBSPOT__API_BASE_URL")})
        for command in commands:
            began = time.monotonic()
            if command == "make demo":
                out = run(command, env).stdout
                assert "SYNTHETIC DATA" in out and f"demo warehouse:   {demo}" in out
                assert "your real data goes to data/warehouse.duckdb, never mixed" in out
                assert count(demo, "marts.habit_completion") > 0
                assert not warehouse.exists(), "the demo wrote into the real warehouse"
            elif command == "make setup":
                out = run(command, setup_env).stdout
                secrets = tomllib.loads((project / ".dlt" / "secrets.toml").read_text())
                assert secrets["sources"]["notion"]["api_token"] == sandbox["SOURCES__NOTION__API_TOKEN"]
                assert secrets["sources"]["fitbit_export"]["path"] == str(export)
                assert re.search(r"notion +ok +token accepted, 3 database", out), out
                assert re.search(r"hubspot +ok", out) and re.search(r"fitbit_export +ok", out), out
                assert "next: make notion && make hubspot && make fitbit-export && make dbt-build" in out
                assert sandbox["SOURCES__NOTION__API_TOKEN"] not in out
            elif command in ("make notion", "make hubspot", "make fitbit-export"):
                out = run(command, env).stdout
                assert f"loaded into {warehouse} dataset 'raw'" in out
            elif command == "make dbt-build":
                run(command, env)
                assert count(warehouse, "marts.habit_completion") > 0
                assert count(warehouse, "marts.fct_engagements") > 0
                assert count(warehouse, "marts.health_daily") > 0
            elif command == "make status":
                out = run(command, env).stdout
                assert f"\nwarehouse: DuckDB file {warehouse} (PIPELINE_DESTINATION=duckdb)\n" in out
                for source in ("notion", "hubspot", "fitbit_export"):
                    assert re.search(rf"\n  {source} +loaded: \d+ tables\n", out), out
                assert re.search(r"\n  fitbit +not loaded yet: run `make fitbit`", out), out
                assert "pipeline health (marts.pipeline_health" in out
            elif command == "make dashboard":
                out = serve_until_healthy(command, env)
                assert f"dashboard on http://127.0.0.1:{env['DASHBOARD_PORT']} over {warehouse}" in out
            timings[command] = round(time.monotonic() - began, 1)
            print(f"walkthrough step `{command}`: {timings[command]} s", flush=True)
    print(f"walkthrough: {time.monotonic() - started:.0f} s {timings}")
    # the real warehouse holds what the sandbox-as-real-account served, never the demo's synthetic year
    assert count(warehouse, "raw.notion__habit_pages") < count(demo, "raw.notion__habit_pages") + 10_000
    assert count(demo, "ops.pipeline_runs") >= 4 and count(warehouse, "ops.pipeline_runs") == 3


def test_readme_notion_snippet_is_a_whole_secrets_file(tmp_path):
    """The snippet the README shows, saved as .dlt/secrets.toml, is read; the tracked config.toml stays as it is."""
    (snippet,) = fenced(readme_section("Point it at your real Notion"), "toml")
    project = fresh_project(tmp_path)
    snippet = snippet.replace("<your integration secret>", "secret_abc").replace("<id>", "0" * 32)
    (project / ".dlt" / "secrets.toml").write_text(snippet)
    code = ("import dlt; print(dlt.config['sources.notion.databases']['weekly'], "
            "dlt.secrets['sources.notion.api_token'], dlt.config['sources.notion.lag_seconds'])")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "DLT_PROJECT_DIR": str(project)})
    assert result.stdout.split() == ["0" * 32, "secret_abc", "120"], result.stderr


def test_a_toml_error_names_the_file_and_line(tmp_path):
    """The old README told users to append a [sources.notion] table to .dlt/config.toml, which already has one:
    dlt said `KeyAlreadyPresent: Key "notion" already exists.` and no file. Now the run names file and line."""
    project = fresh_project(tmp_path)
    config = project / ".dlt" / "config.toml"
    config.write_text(config.read_text() + '\n[sources.notion]\ndatabases = { daily = "x" }\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SOURCES__"))}
    env.update({"DLT_PROJECT_DIR": str(project), "WAREHOUSE_PATH": str(tmp_path / "w.duckdb"),
                "PIPELINES_DIR": str(tmp_path / "dlt"), "PIPELINE_DESTINATION": "duckdb"})
    result = subprocess.run([sys.executable, "-m", "pipelines.notion"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("[notion] FAILED: ") and str(config) in line
    assert re.search(r"line \d+", line) and "a [table] may appear only once per file" in line
    assert not (tmp_path / "w.duckdb").exists()  # failed before touching the warehouse


def test_user_settings_live_in_a_git_ignored_file(tmp_path):
    """What a user sets goes to .dlt/secrets.toml (git-ignored), is read from there, and the tracked files hold
    no user values: `git status` stays clean."""
    paths = [".dlt/secrets.toml", ".dlt/secrets.toml.tmp", "data/sandbox-export/x.json", "data/demo.duckdb",
             "data/demo.dlt/notion/state.json"]
    check = subprocess.run(["git", "check-ignore", *paths], cwd=REPO, capture_output=True, text=True)  # read-only
    assert check.stdout.split() == paths, check.stderr
    tracked = tomllib.loads((REPO / ".dlt" / "config.toml").read_text())
    assert "databases" not in tracked["sources"]["notion"] and "path" not in tracked["sources"]["fitbit_export"]

    project = fresh_project(tmp_path)
    before = (project / ".dlt" / "config.toml").read_bytes()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SOURCES__"))}
    env["DLT_PROJECT_DIR"] = str(project)
    result = subprocess.run([sys.executable, "-m", "scripts.setup", "--no-check", "--notion-token", "secret_x",
                             "--notion-databases",
                             "daily=https://www.notion.so/me/Daily-0123456789abcdef0123456789abcdef?v=1",
                             "--export-path", "/data/takeout.zip"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / ".dlt" / "config.toml").read_bytes() == before
    code = ("import dlt; print(dlt.config['sources.notion.databases']['daily'], "
            "dlt.config['sources.fitbit_export.path'], dlt.config['sources.notion.api_base_url'])")
    read = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert read.stdout.split() == ["0123456789abcdef0123456789abcdef", "/data/takeout.zip",
                                   "https://api.notion.com/v1"], read.stderr


def test_readme_documents_the_sandbox_base_urls_and_running_modules():
    section = readme_section("From the demo to your data")
    for needle in ("make sandbox", "/_sandbox/config", "api_base_url", "http://127.0.0.1:8787/notion/v1",
                   "http://127.0.0.1:8787/hubspot", "make sandbox-export",
                   ".venv/bin/python -m pipelines.notion", "pipenv run", "DASHBOARD_PORT", "CLEAN_TOKENS=1",
                   "another terminal", "make clean-warehouse"):
        assert needle in section, needle

"""`make setup`, non-interactively against the sandbox: writes .dlt/secrets.toml without clobbering, checks each
source with one request, and says what is configured, what is missing and what to run next."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sandbox.app import SandboxConfig
from sandbox.server import SandboxServer
from scripts.setup import parse_databases
from tests.conftest import TEST_LIFE

pytestmark = pytest.mark.slow  # a sandbox server and subprocesses
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path) -> Path:
    project = tmp_path / "project"
    (project / ".dlt").mkdir(parents=True)
    shutil.copy(REPO / ".dlt" / "config.toml", project / ".dlt" / "config.toml")
    return project


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(SandboxConfig(life=TEST_LIFE)) as server:
        yield server


def setup(project: Path, *args: str, via_make: bool = False, **variables) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SOURCES__"))}
    env.update({"DLT_PROJECT_DIR": str(project), **variables})
    if via_make:
        command = ["make", "--no-print-directory", "-o", "install", "setup", f"SETUP_ARGS={' '.join(args)}"]
    else:
        command = [sys.executable, "-m", "scripts.setup", *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def secrets(project: Path) -> dict:
    return tomllib.loads((project / ".dlt" / "secrets.toml").read_text())


def test_environment_variables_are_written_checked_and_next_steps_printed(project, sandbox):
    env = sandbox.pipeline_env()
    result = setup(project, via_make=True, **{k: env[k] for k in (
        "SOURCES__NOTION__API_TOKEN", "SOURCES__NOTION__DATABASES", "SOURCES__NOTION__API_BASE_URL",
        "SOURCES__HUBSPOT__API_TOKEN", "SOURCES__HUBSPOT__API_BASE_URL")})
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    written = secrets(project)["sources"]
    assert written["notion"]["api_token"] == env["SOURCES__NOTION__API_TOKEN"]
    assert written["notion"]["databases"] == json.loads(env["SOURCES__NOTION__DATABASES"])
    assert written["hubspot"]["api_base_url"] == sandbox.hubspot_base_url
    assert "fitbit" not in written or "client_id" not in written["fitbit"]  # placeholders are never written
    assert oct((project / ".dlt" / "secrets.toml").stat().st_mode & 0o777) == "0o600"
    assert "notion         ok              token accepted, 3 database(s) readable" in out
    assert "hubspot        ok              token accepted (read one contact)" in out
    assert "fitbit         not configured" in out and "fitbit_export  not configured" in out
    assert "next: make notion && make hubspot && make dbt-build && make dashboard" in out
    for value in (env["SOURCES__NOTION__API_TOKEN"], env["SOURCES__HUBSPOT__API_TOKEN"]):
        assert value not in out + result.stderr
    # exactly one cheap request per database and one for HubSpot
    assert sandbox.sandbox.traffic.count("notion") >= 3 and sandbox.sandbox.traffic.count("hubspot") >= 1


def test_existing_values_are_kept_and_problems_are_named(project, sandbox):
    env = sandbox.pipeline_env()
    first = setup(project, "--notion-token", env["SOURCES__NOTION__API_TOKEN"], "--notion-base-url",
                  sandbox.notion_base_url, "--hubspot-token", "my-own-token", "--hubspot-base-url",
                  sandbox.hubspot_base_url, "--notion-databases", "daily=0123456789abcdef0123456789abcdef")
    assert first.returncode == 1  # the HubSpot token is wrong, the database does not exist
    assert "token rejected (HTTP 401): check sources.hubspot.api_token" in first.stdout
    assert "daily database 0123456789abcdef0123456789abcdef not found: share it with the integration" in first.stdout
    assert "fix first: notion, hubspot" in first.stdout
    assert "my-own-token" not in first.stdout

    # run again with other values: what the file holds is kept unless --replace
    again = setup(project, "--hubspot-token", env["SOURCES__HUBSPOT__API_TOKEN"], "--no-check")
    assert again.returncode == 0
    assert "kept the values already in the file for: sources.hubspot.api_token (--replace overwrites)" in again.stdout
    assert secrets(project)["sources"]["hubspot"]["api_token"] == "my-own-token"
    replaced = setup(project, "--hubspot-token", env["SOURCES__HUBSPOT__API_TOKEN"], "--replace",
                     "--notion-databases", f"daily={sandbox.sandbox.notion.ws.database_ids['daily']}")
    assert secrets(project)["sources"]["hubspot"]["api_token"] == env["SOURCES__HUBSPOT__API_TOKEN"]
    assert replaced.returncode == 0, replaced.stdout
    assert "notion         ok              token accepted, 1 database(s) readable (daily)" in replaced.stdout


def test_an_unreachable_api_is_one_line_not_a_hang(project):
    result = setup(project, "--notion-token", "x", "--notion-base-url", "http://127.0.0.1:9/notion/v1",
                   "--notion-databases", "daily=abc")
    assert result.returncode == 1
    assert "notion         PROBLEM         cannot reach http://127.0.0.1:9/notion/v1: ConnectError" in result.stdout


def test_nothing_configured_says_how_to_start(project):
    result = setup(project)
    assert result.returncode == 0
    assert "nothing configured yet: run `make setup` in a terminal" in result.stdout
    assert (project / ".dlt" / "secrets.toml").exists()  # the template, placeholders commented out
    assert secrets(project)["sources"]["notion"] == {}


def test_database_ids_may_be_urls():
    assert parse_databases("daily=https://www.notion.so/me/Habits-0123456789abcdef0123456789abcdef?v=99, "
                           "weekly=a7da309a-642e-4ba0-a65b-1a547f0d2322") == {
        "daily": "0123456789abcdef0123456789abcdef", "weekly": "a7da309a-642e-4ba0-a65b-1a547f0d2322"}
    assert parse_databases('{"monthly": "x"}') == {"monthly": "x"}
    with pytest.raises(ValueError, match="unknown frequency"):
        parse_databases("hourly=x")

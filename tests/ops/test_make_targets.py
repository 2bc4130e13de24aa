"""Issue 13.4: the make targets a new user meets say what they do and do only that (help, dashboard port, clean,
postgres, fitbit-export, sandbox-export), and a Python outside the venv says how to run instead."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # make and subprocess pipelines
REPO = Path(__file__).resolve().parents[2]
MAKE = ["make", "--no-print-directory", "-o", "install"]


def env(**extra) -> dict[str, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SOURCES__"))}
    full.update(extra)
    return full


def make(*args: str, cwd: Path = REPO, timeout: int = 300, **extra) -> subprocess.CompletedProcess:
    command = [*MAKE, *args] if cwd == REPO else [*MAKE, "-f", str(REPO / "Makefile"), *args]
    return subprocess.run(command, cwd=cwd, env=env(**extra), capture_output=True, text=True, timeout=timeout)


def test_help_prints_values_not_variable_names():
    out = make("help").stdout
    assert "$(" not in out and "<SANDBOX_PORT>" not in out
    assert "127.0.0.1:8787 until Ctrl-C" in out and "127.0.0.1:8501" in out
    assert "DASHBOARD_PORT=<port>" in out
    assert "127.0.0.1:9999 until" in make("help", SANDBOX_PORT="9999").stdout
    for target in ("setup", "sandbox-export", "clean-warehouse", "status"):
        assert f" {target} " in out.replace("\x1b[0m", " ").replace("\x1b[36m", " "), target


def test_dashboard_says_in_one_line_when_its_port_is_taken():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = make("dashboard", DASHBOARD_PORT=str(port), timeout=60)
    assert result.returncode != 0 and time.monotonic() - started < 30
    out = result.stdout.strip().splitlines()
    assert "dashboard on" not in result.stdout
    assert out[-1] == (f"port {port} is already in use (another dashboard?): stop it, or pick another port: "
                       f"make dashboard DASHBOARD_PORT={port + 1}")


def test_clean_lists_what_it_deletes_and_keeps_the_fitbit_token_store(tmp_path):
    (tmp_path / "data" / "demo.dlt").mkdir(parents=True)
    for name in ("warehouse.duckdb", "demo.duckdb", "fitbit_tokens.json", "fitbit_tokens.json.lock"):
        (tmp_path / "data" / name).write_text("x")
    (tmp_path / ".dlt" / "pipelines" / "duckdb-x").mkdir(parents=True)
    (tmp_path / ".dlt" / "config.toml").write_text("")
    result = make("clean", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["fitbit_tokens.json", "fitbit_tokens.json.lock"]
    assert not (tmp_path / ".dlt" / "pipelines").exists() and (tmp_path / ".dlt" / "config.toml").exists()
    for deleted in ("data/warehouse.duckdb", "data/demo.duckdb", "data/demo.dlt", ".dlt/pipelines"):
        assert f"deleting {deleted}\n" in result.stdout
    assert "kept data/fitbit_tokens.json" in result.stdout and "CLEAN_TOKENS=1" in result.stdout

    result = make("clean", "CLEAN_TOKENS=1", cwd=tmp_path)
    assert "deleting data/fitbit_tokens.json\n" in result.stdout
    assert not list((tmp_path / "data").iterdir())


def test_postgres_installs_only_the_server_and_says_where_its_exports_go(tmp_path):
    dry = make("-n", "postgres").stdout
    assert "install_system_packages.sh postgres" in dry and "chromium" not in dry
    # with nothing installed, the script would fetch only what was asked for
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("bash", "ls", "id", "env"):
        os.symlink(shutil.which(tool), bare / tool)
    probe = subprocess.run([str(REPO / "scripts" / "install_system_packages.sh"), "postgres"], capture_output=True,
                           text=True, env={"PATH": str(bare), "INSTALL_SYSTEM_DRY_RUN": "1"})
    assert probe.returncode == 0 and "chromium" not in probe.stdout and "npm" not in probe.stdout
    everything = subprocess.run([str(REPO / "scripts" / "install_system_packages.sh")], capture_output=True, text=True,
                                env={"PATH": str(bare), "INSTALL_SYSTEM_DRY_RUN": "1"})
    assert "chromium" in everything.stdout and "nodejs npm" in everything.stdout

    proc = subprocess.Popen([sys.executable, "-m", "scripts.postgres_server"], cwd=REPO, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"server exited: {''.join(lines)}"
            lines.append(line)
            if line.startswith("export POSTGRES_DB="):
                break
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=180)  # a hang guard: pg_ctl stop alone may wait 60 s on a loaded machine
    text = "".join(lines)
    assert "Paste these lines into ANOTHER terminal" in text and "Ctrl-C here" in text
    assert "export PIPELINE_DESTINATION=postgres DBT_TARGET=postgres\n" in text
    assert "export DESTINATION__POSTGRES__CREDENTIALS=postgresql://" in text
    assert proc.returncode == 0


def test_fitbit_export_without_export_imports_the_configured_path(tmp_path):
    from scripts.sandbox_export import write_sandbox_export

    export = write_sandbox_export(tmp_path / "takeout", days=10, heart_rate_interval=900)
    project = tmp_path / "project"
    (project / ".dlt").mkdir(parents=True)
    shutil.copy(REPO / ".dlt" / "config.toml", project / ".dlt" / "config.toml")
    (project / ".dlt" / "secrets.toml").write_text(f'[sources.fitbit_export]\npath = "{export}"\n')
    warehouse = tmp_path / "w.duckdb"
    result = make("fitbit-export", DLT_PROJECT_DIR=str(project), WAREHOUSE_PATH=str(warehouse),
                  PIPELINES_DIR=str(tmp_path / "dlt"), PIPELINE_DESTINATION="duckdb")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"loaded into {warehouse} dataset 'raw'" in result.stdout and "sleep" in result.stdout


def test_sandbox_export_writes_a_marked_export_and_prints_its_path(tmp_path):
    dest = tmp_path / "sandbox-export"
    result = make("sandbox-export", f"SANDBOX_EXPORT_ARGS=--dest {dest} --days 7 --heart-rate-interval 900")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"\n{dest}\n" in result.stdout and "make fitbit-export EXPORT=" in result.stdout
    assert (dest / "SYNTHETIC_SANDBOX_EXPORT.txt").exists()
    assert list((dest / "Takeout" / "Fitbit" / "Global Export Data").glob("sleep-*.json"))
    assert "data/sandbox-export/" in make("help").stdout


def test_a_python_outside_the_venv_says_how_to_run_instead():
    # the venv's interpreter without its site-packages (-S) is a Python that cannot import dlt, on any machine
    python = sys.executable
    assert subprocess.run([python, "-S", "-c", "import dlt"], capture_output=True).returncode != 0
    result = subprocess.run([python, "-S", "-m", "pipelines.notion"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"{python} cannot import dlt: the project's packages live in .venv (`make install`). Run "
        "`.venv/bin/python -m pipelines.<source>`, `make <source>` or `pipenv run python -m pipelines.<source>`"]

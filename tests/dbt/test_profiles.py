"""dbt/profiles.yml: the BigQuery targets (production, the tests' emulator) parse without credentials or network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DBT_DIR

# what a CI runner without Google credentials has: a made-up project, no key file, no gcloud config
DUMMY_ENV = {
    "GCP_PROJECT": "dummy-project-000",
    "BIGQUERY_DATASET": "analytics",
    "BIGQUERY_AUTH_METHOD": "oauth",
    "NO_GCE_CHECK": "true",
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}


@pytest.mark.slow
# the emulator target is parsed and built by tests/destinations/test_bigquery_emulator.py
@pytest.mark.parametrize("target", ["prod"])
def test_bigquery_target_parses_offline(target, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GOOGLE_", "BQEMU_", "BIGQUERY_", "CLOUDSDK_", "DBT_"))}
    env.update(DUMMY_ENV, HOME=str(tmp_path / "home"), CLOUDSDK_CONFIG=str(tmp_path / "gcloud"))
    dbt = Path(sys.executable).parent / "dbt"
    cmd = [str(dbt), "parse", "--target", target, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
           "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"), "--no-partial-parse"]
    try:
        result = subprocess.run(cmd, cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        pytest.fail(f"dbt parse --target {target} took over 180 s: is it reaching for Google?")
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    marts = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert {"health_daily", "contact_touchpoints", "habit_completion"} <= marts
    assert {n["database"] for n in manifest["nodes"].values() if n["resource_type"] == "model"} == \
        {"dummy-project-000" if target == "prod" else "local-project"}

"""Secrets in production: dlt's Google Secret Manager provider and scripts/push_secrets.py.

Nothing here talks to Google. dlt's provider runs in a fresh interpreter (tests/ops/gsm_provider_probe.py)
with googleapiclient's `build` replaced by an in-memory vault filled with exactly what push_secrets
produces, so the fragment names are proven against what dlt really looks up. push_secrets runs
against the in-memory SecretManagerServiceClient fake (tests/fixtures/secret_manager.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.api_core import exceptions as gexc

from scripts import push_secrets
from tests.fixtures.secret_manager import FakeSecretManager

REPO = Path(__file__).resolve().parents[2]
PROBE = REPO / "tests" / "ops" / "gsm_provider_probe.py"
PROJECT = "personal-data-prod"

SECRETS_TOML = """\
# what a filled-in .dlt/secrets.toml looks like (config/secrets.toml.example)
[sources.notion]
api_token = "ntn-secret-notion-7f3a"

[sources.hubspot]
api_token = "pat-secret-hubspot-91c2"

[sources.fitbit]
client_id = "23ABCD"
client_secret = "fitbit-client-secret-55e1"
refresh_token = "fitbit-refresh-seed-0b9d"

[destination.bigquery]
location = "EU"

[destination.bigquery.credentials]
project_id = "warehouse-project"
client_email = "loader@warehouse-project.iam.gserviceaccount.com"
private_key = "<replaced by a generated key>"
"""


@pytest.fixture(scope="module")
def private_key() -> str:
    """A throwaway RSA key: google-auth parses service-account keys offline, so dlt's credential path runs for real."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
def secrets_doc(private_key) -> dict:
    doc = tomllib.loads(SECRETS_TOML)
    doc["destination"]["bigquery"]["credentials"]["private_key"] = private_key
    return doc


def secret_values(doc: dict) -> list[str]:
    """Every secret string in the document, plus a middle line of the private key (PEM bodies get re-wrapped)."""
    values = []
    for section in doc.values():
        for table in section.values():
            for key, value in table.items():
                if isinstance(value, dict):
                    values += [v for k, v in value.items() if k in ("private_key",)]
                elif key in ("api_token", "client_secret", "refresh_token"):
                    values.append(value)
    key = doc["destination"]["bigquery"]["credentials"]["private_key"]
    return values + [key.splitlines()[5]]


def assert_no_secret(text: str, doc: dict) -> None:
    leaked = [v[:6] + "..." for v in secret_values(doc) if v in text]
    assert not leaked, f"secret values reached the output: {leaked}"


# --- dlt's Google Secrets provider ---


def run_probe(tmp_path: Path, vault: dict[str, str], env: dict[str, str], secrets_toml: str | None = None) -> dict:
    """dlt as the refresh workflows run it: the repo's .dlt/config.toml, provider switched on by env."""
    workdir = tmp_path / "runner"
    (workdir / ".dlt").mkdir(parents=True)
    shutil.copy(REPO / ".dlt" / "config.toml", workdir / ".dlt" / "config.toml")
    if secrets_toml:
        (workdir / ".dlt" / "secrets.toml").write_text(secrets_toml)
    (tmp_path / "vault.json").write_text(json.dumps(vault))
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("SOURCES__", "DESTINATION__", "PROVIDERS__", "RUNTIME__", "GOOGLE_", "PIPELINE"))}
    full_env = {**clean, "PROVIDERS__ENABLE_GOOGLE_SECRETS": "true", "PIPELINE_DESTINATION": "bigquery",
                "PIPELINES_DIR": str(tmp_path / "dlt_pipelines"), "RUNTIME__LOG_LEVEL": "DEBUG",
                "NO_GCE_CHECK": "True",  # never probe a metadata server
                "SOURCES__NOTION__DATABASES": '{"daily": "0123"}', **env}
    result = subprocess.run([sys.executable, str(PROBE), str(tmp_path / "vault.json"), str(tmp_path / "out.json")],
                            cwd=workdir, env=full_env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return {**json.loads((tmp_path / "out.json").read_text()), "output": result.stdout + result.stderr}


def provider_credentials(kind: str, tmp_path: Path, private_key: str) -> tuple[dict[str, str], str]:
    """(env, the project dlt should read secrets from) for the ways a runner can give the provider credentials."""
    key = {"type": "service_account", "project_id": "sa-home-project", "private_key_id": "k1",
           "private_key": private_key, "client_email": "refresh@sa-home-project.iam.gserviceaccount.com",
           "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}
    key_file = tmp_path / "gcp-sa-key.json"
    key_file.write_text(json.dumps(key))
    if kind == "key file (ADC)":  # what the workflows do: GOOGLE_APPLICATION_CREDENTIALS from the GCP_SA_KEY secret
        return {"GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}, "sa-home-project"
    if kind == "key file, project set":  # ... with the secrets' project named explicitly (GCP_PROJECT)
        return {"GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
                "PROVIDERS__GOOGLE_SECRETS__CREDENTIALS__PROJECT_ID": PROJECT}, PROJECT
    return {"PROVIDERS__GOOGLE_SECRETS__CREDENTIALS__PROJECT_ID": PROJECT,
            "PROVIDERS__GOOGLE_SECRETS__CREDENTIALS__CLIENT_EMAIL": key["client_email"],
            "PROVIDERS__GOOGLE_SECRETS__CREDENTIALS__PRIVATE_KEY": private_key}, PROJECT


# what dlt 1.31 asks the vault for while each run builds its source (per run, after what earlier runs cached):
# the whole-secrets.toml keys, the fragments our secrets live in, and per-key probes that are 404s
EXPECTED_LOOKUPS = {
    "notion": ["dlt_secrets_toml", "notion-dlt_secrets_toml", "destination", "destination-bigquery",
               "destination-staging_config", "sources", "sources-notion", "notion-sources", "notion-sources-notion",
               "sources-api_token", "notion-sources-api_token"],
    "hubspot": ["hubspot-dlt_secrets_toml", "sources-hubspot", "hubspot-sources", "hubspot-sources-hubspot",
                "hubspot-sources-api_token"],
    # the Google Health source: section `fitbit`, source (schema) name `google_health`
    "fitbit": ["fitbit-dlt_secrets_toml", "sources-fitbit", "fitbit-sources", "fitbit-sources-fitbit",
               "sources-google_health", "fitbit-sources-google_health", "sources-client_id", "fitbit-sources-client_id", "sources-client_secret",
               "fitbit-sources-client_secret", "sources-refresh_token", "fitbit-sources-refresh_token"],
    "destination": [],  # destination-bigquery was already read when the first pipeline was created
}


@pytest.mark.parametrize("credentials", ["key file (ADC)", "key file, project set", "explicit service account"])
def test_dlt_reads_every_source_and_bigquery_from_the_fragments_push_secrets_writes(
        tmp_path, secrets_doc, private_key, credentials):
    fragments, _ = push_secrets.split(secrets_doc)
    env, project = provider_credentials(credentials, tmp_path, private_key)
    probe = run_probe(tmp_path, {f.secret_id: f.payload.decode() for f in fragments}, env)
    sources, bigquery = secrets_doc["sources"], secrets_doc["destination"]["bigquery"]
    assert probe["resolved"] == {
        "notion.api_token": sources["notion"]["api_token"],
        "hubspot.api_token": sources["hubspot"]["api_token"],
        "fitbit.client_id": sources["fitbit"]["client_id"],
        "fitbit.client_secret": sources["fitbit"]["client_secret"],
        "fitbit.refresh_token": sources["fitbit"]["refresh_token"],
        "bigquery.client_email": bigquery["credentials"]["client_email"],
        "bigquery.project_id": bigquery["credentials"]["project_id"],
        "bigquery.location": "EU",
    }
    assert probe["requested"] == EXPECTED_LOOKUPS
    assert all(name.startswith(f"projects/{project}/secrets/") and name.endswith("/versions/latest")
               for name in probe["all_requests"])
    assert {f.secret_id for f in fragments} <= {name.split("/")[3] for name in probe["all_requests"]}, \
        "every fragment push_secrets writes is one dlt reads"
    assert "Vault provider Google Secrets will make a request for sources-notion" in probe["output"], \
        "the run logged at DEBUG (so the check below covers dlt's most verbose output)"
    assert_no_secret(probe["output"], secrets_doc)


def test_env_vars_and_secrets_toml_still_win_over_secret_manager(tmp_path, secrets_doc, private_key):
    fragments, _ = push_secrets.split(secrets_doc)
    env, _ = provider_credentials("key file (ADC)", tmp_path, private_key)
    probe = run_probe(tmp_path, {f.secret_id: f.payload.decode() for f in fragments},
                      {**env, "SOURCES__NOTION__API_TOKEN": "from-the-environment"},
                      secrets_toml='[sources.hubspot]\napi_token = "from-secrets-toml"\n')
    assert probe["resolved"]["notion.api_token"] == "from-the-environment"
    assert probe["resolved"]["hubspot.api_token"] == "from-secrets-toml"
    assert probe["resolved"]["fitbit.client_secret"] == secrets_doc["sources"]["fitbit"]["client_secret"]
    # (the vault is still asked: dlt tries pipeline-scoped keys in every provider before plain ones, so
    # the values above won on provider order alone)
    assert "sources-notion" in probe["requested"]["notion"]


def test_secret_manager_is_off_unless_switched_on():
    config = tomllib.loads((REPO / ".dlt" / "config.toml").read_text())
    assert config["providers"]["enable_google_secrets"] is False
    result = subprocess.run(
        [sys.executable, "-c", "import dlt\nfrom dlt.common.configuration.container import Container\n"
         "from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext\n"
         "print([p.name for p in Container()[PluggableRunContext].providers.providers])"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("PROVIDERS__")})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Google Secrets" not in result.stdout and "Environment Variables" in result.stdout


# --- scripts/push_secrets.py ---


@pytest.fixture
def secrets_file(tmp_path, secrets_doc) -> Path:
    path = tmp_path / "secrets.toml"
    text = SECRETS_TOML.replace('"<replaced by a generated key>"',
                                json.dumps(secrets_doc["destination"]["bigquery"]["credentials"]["private_key"]))
    path.write_text(text + '\n[providers.google_secrets.credentials]\nproject_id = "x"\n')
    return path


def push(secrets_file: Path, fake: FakeSecretManager, *args: str) -> int:
    return push_secrets.main(["--file", str(secrets_file), "--project", PROJECT, *args], client=fake)


def test_push_creates_one_secret_per_table_named_as_dlt_looks_them_up(secrets_file, secrets_doc, capsys, caplog):
    fake = FakeSecretManager()
    assert push(secrets_file, fake) == 0
    names = {f"projects/{PROJECT}/secrets/{n}" for n in
             ("sources-notion", "sources-hubspot", "sources-fitbit", "destination-bigquery")}
    assert set(fake.secrets) == names
    for name in names:
        (version, state, payload), = fake.payloads(name)
        section, table = name.rsplit("/", 1)[1].split("-", 1)
        assert tomllib.loads(payload.decode()) == {section: {table: secrets_doc[section][table]}}, \
            "each secret is its table as a TOML document rooted at the top, which is how dlt merges fragments"
        assert (version, state) == (1, "ENABLED")
        assert fake.secrets[name].proto.labels["managed-by"] == "push_secrets"
        assert fake.secrets[name].proto.replication.automatic is not None
    out = capsys.readouterr()
    assert "sources-notion" in out.out and "created, version 1 added" in out.out
    assert "not pushed" in out.out and "providers" in out.out, "other tables are named, not pushed"
    assert_no_secret(out.out + out.err + caplog.text, secrets_doc)


def test_push_again_adds_a_version_only_where_the_content_changed(secrets_file, secrets_doc, capsys):
    fake = FakeSecretManager()
    assert push(secrets_file, fake) == 0
    secrets_file.write_text(secrets_file.read_text().replace("pat-secret-hubspot-91c2", "pat-secret-hubspot-rotated"))
    capsys.readouterr()
    calls_before = len(fake.calls)
    assert push(secrets_file, fake) == 0
    adds = [name for method, name in fake.calls[calls_before:] if method == "add_secret_version"]
    assert adds == [f"projects/{PROJECT}/secrets/sources-hubspot"]
    assert [v for v, _, _ in fake.payloads(f"projects/{PROJECT}/secrets/sources-hubspot")] == [1, 2]
    out = capsys.readouterr().out
    assert out.count("unchanged") == 3 and "version 2 added" in out
    assert "pat-secret-hubspot-rotated" not in out
    assert_no_secret(out, secrets_doc)


def test_destroy_old_keeps_one_active_version_per_secret(secrets_file, secrets_doc, capsys):
    fake = FakeSecretManager()
    assert push(secrets_file, fake) == 0
    secrets_file.write_text(secrets_file.read_text().replace("ntn-secret-notion-7f3a", "ntn-secret-notion-2nd"))
    assert push(secrets_file, fake) == 0  # without the flag the old version stays (and is billed)
    secrets_file.write_text(secrets_file.read_text().replace("ntn-secret-notion-2nd", "ntn-secret-notion-3rd"))
    assert push(secrets_file, fake, "--destroy-old") == 0
    notion = f"projects/{PROJECT}/secrets/sources-notion"
    assert fake.states(notion) == ["DESTROYED", "DESTROYED", "ENABLED"]
    assert fake.active_versions(f"projects/{PROJECT}/secrets/sources-hubspot") == 1, "unchanged: untouched"
    assert "version 3 added, 2 older destroyed" in capsys.readouterr().out


def test_dry_run_compares_but_writes_nothing(secrets_file, secrets_doc, capsys):
    fake = FakeSecretManager()
    fake.add_secret(f"projects/{PROJECT}/secrets/sources-notion")
    assert push(secrets_file, fake, "--dry-run") == 0
    assert set(fake.methods_called()) <= {"get_secret", "access_secret_version"}
    out = capsys.readouterr().out
    assert "dry run" in out and "sources-notion" in out and "would add a version" in out
    assert out.count("would create the secret and add a version") == 3
    assert_no_secret(out, secrets_doc)


def test_only_and_project_from_the_environment(secrets_file, monkeypatch, capsys):
    fake = FakeSecretManager()
    monkeypatch.setenv("GCP_PROJECT", "from-env")
    assert push_secrets.main(["--file", str(secrets_file), "--only", "sources-fitbit"], client=fake) == 0
    assert list(fake.secrets) == ["projects/from-env/secrets/sources-fitbit"]
    assert push_secrets.main(["--file", str(secrets_file), "--only", "sources-nope"], client=fake) == 1
    assert "no table for sources-nope" in capsys.readouterr().err
    monkeypatch.delenv("GCP_PROJECT")
    with pytest.raises(SystemExit) as usage:
        push_secrets.main(["--file", str(secrets_file)], client=fake)
    assert usage.value.code == 2


def test_a_failure_names_the_secret_and_the_error_and_the_rest_is_pushed(secrets_file, secrets_doc, capsys):
    fake = FakeSecretManager()
    fake.fail("create_secret", gexc.PermissionDenied("Permission 'secretmanager.secrets.create' denied"))
    assert push(secrets_file, fake) == 1
    out = capsys.readouterr().out
    assert "sources-notion" in out and "FAILED: PermissionDenied (HTTP 403)" in out
    assert len(fake.secrets) == 3, "the other fragments were still pushed"
    assert all(t > 0 for t in fake.timeouts) and len(fake.timeouts) == len(fake.calls), "every call had a timeout"
    assert_no_secret(out, secrets_doc)


def test_an_unreadable_file_fails_without_echoing_it(tmp_path, capsys):
    bad = tmp_path / "secrets.toml"
    bad.write_text('[sources.notion]\napi_token = "ntn-unterminated-secret\n')
    assert push_secrets.main(["--file", str(bad), "--project", PROJECT], client=FakeSecretManager()) == 1
    err = capsys.readouterr().err
    assert "not valid TOML" in err and "ntn-unterminated-secret" not in err


# --- the scheduled workflows ---


def test_refresh_workflows_read_secrets_from_the_gcp_project_and_keep_fitbit_tokens_there():
    project = "${{ vars.GCP_PROJECT || secrets.GCP_PROJECT }}"
    workflows = REPO / ".github" / "workflows"
    reusable = yaml.safe_load((workflows / "_refresh.yml").read_text())
    (job,) = reusable["jobs"].values()
    env = job["env"]
    assert env["PROVIDERS__ENABLE_GOOGLE_SECRETS"] == "true"
    assert env["PROVIDERS__GOOGLE_SECRETS__CREDENTIALS__PROJECT_ID"] == env["GCP_PROJECT"] == project
    for source in ("notion", "hubspot", "fitbit"):
        doc = yaml.safe_load((workflows / f"refresh-{source}.yml").read_text())
        (caller,) = [j for j in doc["jobs"].values() if j.get("uses") == "./.github/workflows/_refresh.yml"]
        assert set(caller["secrets"]) == {"GCP_SA_KEY", "GCP_PROJECT"}
    fitbit = yaml.safe_load((workflows / "refresh-fitbit.yml").read_text())["jobs"]
    assert fitbit["refresh"]["with"]["token_store_secret"] == "fitbit-tokens"
    assert fitbit["refresh"]["with"]["run_module"] == "${{ needs.google-health.outputs.configured == 'true' }}"
    (api,) = [s for s in job["steps"] if "TOKEN_STORE_SECRET" in (s.get("env") or {})]
    assert 'SOURCES__${SOURCE^^}__TOKEN_STORE=gsm://projects/$GCP_PROJECT/secrets/$TOKEN_STORE_SECRET' in api["run"]


def test_a_pipeline_process_without_secrets_toml_does_not_import_streamlit(tmp_path):
    """dlt looks for Streamlit's secrets when no .dlt/secrets.toml exists (a fresh clone, a scheduled run with its
    secrets in the environment), importing streamlit and plotly, 1.2 s a process; the CLI and the demo stop that."""
    code = ("import sys; from pipelines.common.cli import not_a_streamlit_app\n"
            "if sys.argv[1] == 'cli': not_a_streamlit_app()\n"
            "import dlt; print(dlt.secrets.get('sources.notion.api_token'), "
            "sorted(m for m in ('streamlit', 'plotly') if sys.modules.get(m)))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env.update({"DLT_PROJECT_DIR": str(tmp_path), "SOURCES__NOTION__API_TOKEN": "from-the-environment"})
    seen = {}
    for mode in ("cli", "plain"):
        result = subprocess.run([sys.executable, "-c", code, mode], cwd=REPO, env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        seen[mode] = result.stdout.strip()
    assert seen["cli"] == "from-the-environment []"  # the secret still resolves, from the environment
    assert seen["plain"] == "from-the-environment ['plotly', 'streamlit']"  # what dlt does on its own

"""Secrets never leave the process (issue 14, item 1).

Known secrets are planted in every provider at once: environment variables, a `.dlt/secrets.toml` in the run's
project folder, Google Secret Manager (dlt's provider, googleapiclient faked), a token-store file and a Secret
Manager token store (tests/fixtures/secret_manager.py). Each run takes its Bearer token from one of them and is
made to fail one way (tests/reliability/secret_probe.py): a token with a trailing newline (refused early, and
with that check switched off), a 401, nothing listening, and code that logs, prints and raises the token.
dlt logs at DEBUG. Then every file the run wrote (the warehouse as SQL over every text column, including
ops.pipeline_runs, and as bytes; every file under the pipelines folder, gzip decompressed, trace pickle
included) and its stdout/stderr are searched for every escaped form of every planted secret: none is found.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import secrets as random_secrets
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, quote_plus

import duckdb
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.reliability.harness import FAST_RETRIES, REPO, files_under, warehouse_env

PROBE = Path(__file__).with_name("secret_probe.py")
FAILURES = ("bad_header", "bad_header_unchecked", "unauthorized", "refused", "echo")
PROVIDERS = ("env", "secrets.toml", "secret_manager", "token_store_file", "token_store_gsm")
# every failure with the token from the environment; the ones that reach the token differently for the others
CASES = [("env", f) for f in FAILURES] + [
    ("secrets.toml", "bad_header"), ("secrets.toml", "bad_header_unchecked"), ("secrets.toml", "echo"),
    ("secret_manager", "bad_header_unchecked"), ("secret_manager", "unauthorized"), ("secret_manager", "echo"),
    ("token_store_file", "bad_header_unchecked"), ("token_store_file", "echo"),
    ("token_store_gsm", "bad_header"), ("token_store_gsm", "unauthorized"), ("token_store_gsm", "echo"),
]


def _secret(prefix: str) -> str:
    return f"{prefix}-{random_secrets.token_hex(12)}"


PLANTED = {
    "env": _secret("ntn-env"),
    "secrets.toml": _secret("ntn-toml"),
    "secret_manager": _secret("ntn-gsm"),
    "token_store_file": _secret("ts-file-access"),
    "token_store_gsm": _secret("ts-gsm-access"),
    # present in the providers, never used by the runs: still never printed or written
    "unused_env": _secret("pat-env-unused"),
    "unused_toml": _secret("pg-toml-password"),
    "unused_gsm": _secret("pat-gsm-unused"),
    "refresh_file": _secret("ts-file-refresh"),
    "refresh_gsm": _secret("ts-gsm-refresh"),
}


def forms(value: str) -> set[str]:
    """How a secret shows up once escaped: as is, stripped, repr, JSON, URL-encoded, base64, bytes repr."""
    out = set()
    for v in {value, value.strip(), value + "\n"}:
        out |= {v, repr(v)[1:-1], json.dumps(v)[1:-1], quote(v, safe=""), quote_plus(v), repr(v.encode())[2:-1],
                base64.b64encode(v.encode()).decode().rstrip("="), f"Bearer {v}"}
    return {f for f in out if len(f.strip()) >= 12}


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a TOML basic string: the same escapes as JSON for these values


@pytest.fixture(scope="module")
def key_file(tmp_path_factory) -> Path:
    """A throwaway service-account key for dlt's Secret Manager provider (google-auth parses it offline)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path = tmp_path_factory.mktemp("gcp") / "sa.json"
    path.write_text(json.dumps({"type": "service_account", "project_id": "probe-project", "private_key_id": "k1",
                                "private_key": pem, "client_email": "probe@probe-project.iam.gserviceaccount.com",
                                "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}))
    return path


@pytest.fixture(scope="module")
def sandboxes():
    """provider -> a sandbox whose Notion token is that provider's planted secret (the runs get past auth)."""
    from sandbox.app import SandboxConfig
    from sandbox.server import SandboxServer
    from tests.reliability.conftest import SMALL_LIFE

    servers = {p: SandboxServer(SandboxConfig(life=SMALL_LIFE, notion_token=PLANTED[p])).start() for p in PROVIDERS}
    yield servers
    for server in servers.values():
        server.stop()


def _case(provider: str, failure: str, base: Path, sandboxes: dict, key_file: Path) -> dict:
    """Set up one run's project folder and environment; returns what the probe and the search need."""
    base.mkdir(parents=True)
    # a 401: the sandbox of another provider, whose token is not this one
    sandbox = sandboxes[PROVIDERS[(PROVIDERS.index(provider) + 1) % len(PROVIDERS)] if failure == "unauthorized"
                        else provider]
    project = base / "project"
    (project / ".dlt").mkdir(parents=True)
    shutil.copy(REPO / ".dlt" / "config.toml", project / ".dlt" / "config.toml")
    used = PLANTED[provider] + ("\n" if failure.startswith("bad_header") else "")
    notion_url = "http://127.0.0.1:9/notion/v1" if failure == "refused" else sandbox.notion_base_url

    toml = {"sources": {"hubspot": {"api_token": PLANTED["unused_toml"]}},
            "destination": {"postgres": {"credentials": {"password": PLANTED["unused_toml"]}}}}
    if provider == "secrets.toml":
        toml["sources"]["notion"] = {"api_token": used}
    (project / ".dlt" / "secrets.toml").write_text("\n".join(
        f"[{section}.{name}]\n" + "".join(f"{k} = {_toml_string(v)}\n" for k, v in table.items()
                                          if not isinstance(v, dict))
        + "".join(f"[{section}.{name}.{k}]\n" + "".join(f"{kk} = {_toml_string(vv)}\n" for kk, vv in v.items())
                  for k, v in table.items() if isinstance(v, dict))
        for section, tables in toml.items() for name, table in tables.items()))

    vault = {"sources-hubspot": f'[sources.hubspot]\napi_token = {_toml_string(PLANTED["unused_gsm"])}\n'}
    if provider == "secret_manager":
        vault["sources-notion"] = f"[sources.notion]\napi_token = {_toml_string(used)}\n"

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOURCES__", "PROVIDERS__", "RUNTIME__", "GOOGLE_", "PIPELINE", "DESTINATION__"))}
    env.update({**FAST_RETRIES, **warehouse_env(base), "PYTHONPATH": str(REPO), "RUNTIME__LOG_LEVEL": "DEBUG",
                "PROVIDERS__ENABLE_GOOGLE_SECRETS": "true", "GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
                "NO_GCE_CHECK": "True", "SOURCES__HUBSPOT__API_TOKEN": PLANTED["unused_env"],
                "SOURCES__NOTION__API_BASE_URL": notion_url,
                "SOURCES__NOTION__DATABASES": json.dumps(sandbox.sandbox.notion.ws.database_ids),
                "SOURCES__TOKENSTORE__API_BASE_URL": notion_url})
    if provider == "env":
        env["SOURCES__NOTION__API_TOKEN"] = used

    spec = {"source": "notion", "failure": failure, "vault": vault}
    if provider.startswith("token_store"):
        kind = "file" if provider == "token_store_file" else "gsm"
        refresh = PLANTED["refresh_file" if kind == "file" else "refresh_gsm"]
        tokens = {"access_token": used, "refresh_token": refresh, "expires_at": 4102444800.0, "user_id": "probe"}
        store = base / "tokens.json"
        store.write_text(json.dumps(tokens))
        spec.update(source="tokenstore", token_store={"kind": kind, "path": str(store), "tokens": tokens,
                                                      "secret": "projects/probe-project/secrets/fitbit-tokens"})
    return {"spec": spec, "env": env, "cwd": project, "base": base, "provider": provider}


def _run(case: dict) -> dict:
    result = subprocess.run([sys.executable, str(PROBE), json.dumps(case["spec"])], env=case["env"], cwd=case["cwd"],
                            capture_output=True, text=True, timeout=300)
    return {**case, "returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}


def _readable(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _warehouse_text(path: Path) -> str:
    """Every text value of every table of the warehouse (ops.pipeline_runs included), as one string."""
    if not path.exists():
        return ""
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute("select table_schema, table_name, column_name from information_schema.columns "
                              "where data_type = 'VARCHAR'").fetchall()
        chunks = []
        for schema, table, column in columns:
            chunks += [str(v) for (v,) in con.execute(f'select "{column}" from "{schema}"."{table}"').fetchall()]
        return "\n".join(chunks)
    finally:
        con.close()


@pytest.mark.slow
def test_no_planted_secret_reaches_output_ledger_traces_or_files(sandboxes, key_file, tmp_path, request):
    cases = [_case(provider, failure, tmp_path / f"{provider}-{failure}", sandboxes, key_file)
             for provider, failure in CASES]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(_run, cases))

    targets = {name: forms(value) for name, value in PLANTED.items()}
    leaks, wrong, checked_files = [], [], 0
    for r in results:
        label = f"{r['provider']}/{r['spec']['failure']}"
        texts = {"stdout": r["stdout"].encode(), "stderr": r["stderr"].encode(),
                 "warehouse (SQL)": _warehouse_text(r["base"] / "warehouse.duckdb").encode()}
        for path in files_under(r["base"]):
            if path.name in ("secrets.toml", "tokens.json") or "project" in path.relative_to(r["base"]).parts[:1]:
                continue  # where the secrets were planted
            texts[str(path.relative_to(tmp_path))] = _readable(path)
            checked_files += 1
        for where, data in texts.items():
            for name, variants in targets.items():
                found = [f for f in variants if f.encode() in data]
                if found:
                    leaks.append(f"{label}: {name} in {where} as {found[0][:10]}...")
        failed = [line for line in r["stderr"].splitlines() if "] FAILED: " in line]
        if r["returncode"] != 1 or len(failed) != 1:
            wrong.append(f"{label}: rc {r['returncode']}, not one FAILED line:\n{r['stderr'][-2000:]}")
        elif r["spec"]["failure"] == "bad_header":
            # a token store checks what it read before any request: it names the store and the token instead
            setting = ("sources.notion.api_token has" if r["spec"]["source"] == "notion"
                       else "access_token has" if "TokenStore(" in failed[0]
                       else "the Authorization header of the request GET")
            if not (setting in failed[0] and "has a trailing newline" in failed[0]):
                wrong.append(f"{label}: {failed[0]}")
        elif r["spec"]["failure"] == "echo" and "the API refused" not in failed[0]:
            wrong.append(f"{label}: {failed[0]}")
    request.node.user_properties.append(("runs", len(results)))
    request.node.user_properties.append(("secrets_planted", len(PLANTED)))
    request.node.user_properties.append(("files_searched", checked_files))
    request.node.user_properties.append(("secrets_found", len(leaks)))
    assert leaks == [], f"{len(leaks)} leaks:\n" + "\n".join(leaks[:40])
    assert wrong == [], "\n".join(wrong)

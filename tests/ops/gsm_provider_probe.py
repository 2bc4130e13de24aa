"""Run by tests/ops/test_secrets.py in a fresh interpreter: dlt with its Google Secrets provider enabled.

googleapiclient's `build("secretmanager", "v1", ...)` (what dlt's GoogleSecretsProvider calls) is
replaced by an in-memory Secret Manager holding the fragments in argv[1]; our sources are then
built exactly as `python -m pipelines.<source>` builds them (inside their pipeline), with their
HTTP clients replaced so nothing leaves the machine. Writes what dlt asked the vault for and what
each source received to argv[2]; prints nothing secret itself.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import googleapiclient.discovery
import httplib2
from googleapiclient.errors import HttpError

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

VAULT: dict[str, str] = json.loads(Path(sys.argv[1]).read_text())
REQUESTED: list[str] = []


class _Access:
    def __init__(self, name: str):
        self.name = name

    def execute(self, *args, **kwargs) -> dict:
        REQUESTED.append(self.name)
        secret_id = self.name.split("/")[3]
        if secret_id not in VAULT:
            body = {"error": {"code": 404, "message": f"Secret [{self.name}] not found", "status": "NOT_FOUND"}}
            raise HttpError(httplib2.Response({"status": 404}), json.dumps(body).encode())
        return {"name": self.name, "payload": {"data": base64.b64encode(VAULT[secret_id].encode()).decode()}}


class _SecretManagerV1:
    """The slice of the discovery client dlt uses: projects().secrets().versions().access(name=).execute()."""

    def projects(self):
        return self

    def secrets(self):
        return self

    def versions(self):
        return self

    def access(self, name: str) -> _Access:
        return _Access(name)


def _build(service: str, version: str, **kwargs):
    assert (service, version) == ("secretmanager", "v1"), (service, version)
    assert kwargs.get("credentials") is not None, "dlt passes the service account's credentials"
    return _SecretManagerV1()


googleapiclient.discovery.build = _build

import dlt  # noqa: E402

import pipelines.fitbit.source as fitbit  # noqa: E402
import pipelines.hubspot.source as hubspot  # noqa: E402
import pipelines.notion.source as notion  # noqa: E402
from pipelines.common.settings import make_pipeline  # noqa: E402

resolved: dict[str, object] = {}
requested: dict[str, list[str]] = {}


def _record(source: str, build) -> None:
    before = len(REQUESTED)
    make_pipeline(source)  # the run's pipeline is active while its source is built, as in cli.run_source
    build()
    requested[source] = [n.split("/")[3] for n in REQUESTED[before:]]


notion.notion_client = lambda base_url, token, version: resolved.setdefault("notion.api_token", token)
notion.discover = lambda client, databases, date_property: []
_record("notion", notion.notion_source)

hubspot.hubspot_client = lambda base_url, token: resolved.setdefault("hubspot.api_token", token)
_record("hubspot", hubspot.hubspot_source)


class _FitbitClient:
    """Stands in for the Google Health API client: (base_url, client_id, client_secret, store, refresh_token, ...)."""

    def __init__(self, base_url, client_id, client_secret, store, refresh_token, *args, **kwargs):
        resolved.update({"fitbit.client_id": client_id, "fitbit.client_secret": client_secret,
                         "fitbit.refresh_token": refresh_token})


fitbit.HealthApiClient = _FitbitClient
_record("fitbit", fitbit.fitbit_source)

before = len(REQUESTED)
bigquery = dlt.destinations.bigquery()
config = bigquery.configuration(bigquery.spec()._bind_dataset_name(dataset_name="raw"))
requested["destination"] = [n.split("/")[3] for n in REQUESTED[before:]]
resolved["bigquery.client_email"] = config.credentials.client_email
resolved["bigquery.project_id"] = config.credentials.project_id
resolved["bigquery.location"] = config.location

Path(sys.argv[2]).write_text(json.dumps({"requested": requested, "all_requests": REQUESTED, "resolved": resolved}))

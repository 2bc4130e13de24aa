"""Run by tests/reliability/test_secret_redaction.py in a fresh interpreter: one pipeline run through the real CLI
(`pipelines.common.cli.main`) with a secret planted in one provider and one kind of failure forced.

argv[1] is a JSON spec:
- "source": "notion" (token from dlt config: env, .dlt/secrets.toml or Secret Manager) or "tokenstore" (a tiny
  source whose Bearer token comes from a token store: a local file or Secret Manager, as the Fitbit source does);
- "failure": "bad_header" (token with a newline: refused before sending), "bad_header_unchecked" (the same with
  that check switched off, so requests raises InvalidHeader with the token in it), "unauthorized" (a 401),
  "refused" (nothing listens at the base URL), "echo" (the request is made, then the code logs, prints and raises
  the token in repr, JSON and URL-encoded form, inside dlt's extract step);
- "vault": Secret Manager fragments for dlt's provider (googleapiclient's `build` is faked, as in
  tests/ops/gsm_provider_probe.py); "token_store": {"kind": "file"|"gsm", "path", "secret", "tokens"}.
dlt logs at DEBUG (`RUNTIME__LOG_LEVEL`), its most verbose: request headers included.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

SPEC = json.loads(sys.argv[1])


def _fake_vault(vault: dict[str, str]) -> None:
    import googleapiclient.discovery
    import httplib2
    from googleapiclient.errors import HttpError

    class _Access:
        def __init__(self, name: str):
            self.name = name

        def execute(self, *args, **kwargs) -> dict:
            secret_id = self.name.split("/")[3]
            if secret_id not in vault:
                body = {"error": {"code": 404, "message": f"Secret [{self.name}] not found", "status": "NOT_FOUND"}}
                raise HttpError(httplib2.Response({"status": 404}), json.dumps(body).encode())
            return {"name": self.name, "payload": {"data": base64.b64encode(vault[secret_id].encode()).decode()}}

    class _SecretManagerV1:
        def projects(self):
            return self

        def secrets(self):
            return self

        def versions(self):
            return self

        def access(self, name: str) -> _Access:
            return _Access(name)

    googleapiclient.discovery.build = lambda service, version, **kwargs: _SecretManagerV1()


if SPEC.get("vault"):
    _fake_vault(SPEC["vault"])

import dlt  # noqa: E402
import requests  # noqa: E402
from dlt.sources.helpers.rest_client import RESTClient  # noqa: E402

from pipelines.common import cli, http  # noqa: E402

if SPEC["failure"] == "bad_header_unchecked":
    http._refuse_whitespace = lambda *args, **kwargs: None  # redaction must hold without the early check


def _token_of(client: RESTClient, auth) -> str:
    if auth is not None:
        return auth.token()
    return (client.headers or {}).get("Authorization", "").removeprefix("Bearer ")


if SPEC["failure"] == "echo":
    original = RESTClient.paginate

    def leaky_paginate(self, path="", *args, auth=None, **kwargs):
        self.get(path if isinstance(path, str) else "", auth=auth)  # the token goes on the wire first
        token = _token_of(self, auth)
        logging.getLogger("dlt").warning("retrying with token %s", token)
        logging.getLogger("pipelines.probe").error("request body %s", json.dumps({"token": token}))
        print(f"debug: token={token!r} url=https://api.example/?key={quote(token, safe='')}", file=sys.stderr)
        print(f"header Authorization: Bearer {token}")
        raise RuntimeError(f"the API refused {token!r} (https://api.example/?token={quote_plus(token)}, "
                           f"body {json.dumps(token)})")
        yield from original(self, path, *args, **kwargs)  # never reached

    RESTClient.paginate = leaky_paginate


class _StoreBearer(requests.auth.AuthBase):
    """The token store's access token on each request (like the Fitbit source's auth hook)."""

    def __init__(self, store):
        self.store = store

    def token(self) -> str:
        return self.store.read().access_token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request


def _token_store():
    from pipelines.fitbit.tokens import LocalFileTokenStore

    spec = SPEC["token_store"]
    if spec["kind"] == "file":
        return LocalFileTokenStore(spec["path"])
    from google.cloud import secretmanager

    from pipelines.fitbit.tokens.secret_manager import SecretManagerTokenStore
    from tests.fixtures.secret_manager import FakeSecretManager

    fake = FakeSecretManager()
    fake.add_secret(spec["secret"])
    fake.add_secret_version(request=secretmanager.AddSecretVersionRequest(
        parent=spec["secret"], payload={"data": json.dumps(spec["tokens"]).encode()}), timeout=5)
    return SecretManagerTokenStore(spec["secret"], client=fake)


@dlt.source(name="tokenstore", section="tokenstore")
def tokenstore_source(api_base_url: str = dlt.config.value):
    client = http.counting_client("tokenstore", api_base_url, {"Notion-Version": "2025-09-03"},
                                  base_url_setting="sources.tokenstore.api_base_url")
    auth = _StoreBearer(_token_store())

    @dlt.resource(name="tokenstore__pages", primary_key="id", write_disposition="merge")
    def pages():
        body = {"page_size": 10}
        for page in client.paginate("/databases/unknown", method="GET", auth=auth, json=body, data_selector="results"):
            yield from page

    return pages


if __name__ == "__main__":
    if SPEC["source"] == "notion":
        from pipelines.notion import notion_source

        sys.exit(cli.main("notion", notion_source, []))
    sys.exit(cli.main("tokenstore", tokenstore_source, []))

"""What a failed request says (issue 14, item 4), for every source through pipelines.common.http.counting_client:
a connection that cannot be made fails fast naming host, port and the base-URL setting; a malformed JSON body
names its endpoint; an HTTP error says status code, reason phrase and endpoint (never the query string); a
token with whitespace is refused before anything is sent, naming its setting."""

from __future__ import annotations

import socket
import time

import dlt
import pytest
import requests

from pipelines.common import redaction
from pipelines.common.errors import SourceError, one_line_error
from pipelines.common.http import ApiUnreachable, MalformedResponse, counting_client
from tests.reliability.conftest import source_env
from tests.reliability.harness import run_in_process, warehouse_env


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def default_retries(clean_env):
    """dlt's retry settings as .dlt/config.toml has them (6 attempts, exponential backoff): not the fast ones."""
    for var in ("RUNTIME__REQUEST_MAX_ATTEMPTS", "RUNTIME__REQUEST_BACKOFF_FACTOR", "RUNTIME__REQUEST_MAX_RETRY_DELAY",
                "HTTP_CONNECT_RETRIES"):
        clean_env.delenv(var, raising=False)
    return clean_env


def test_a_refused_connection_fails_fast_naming_host_and_setting(default_retries):
    port = closed_port()
    client = counting_client("notion", f"http://127.0.0.1:{port}/notion/v1", {})
    started = time.monotonic()
    with pytest.raises(ApiUnreachable) as caught:
        client.get("/databases/abc")
    elapsed = time.monotonic() - started
    assert str(caught.value) == (f"cannot connect to 127.0.0.1:{port} (sources.notion.api_base_url = "
                                 f"http://127.0.0.1:{port}/notion/v1) after 3 attempts: Connection refused")
    assert elapsed < 3, f"{elapsed:.1f} s: dlt's backoff for 6 attempts would take ~31 s"
    assert isinstance(caught.value, requests.ConnectionError) and isinstance(caught.value, SourceError)


def test_connect_retries_are_configurable(default_retries):
    port = closed_port()
    default_retries.setenv("HTTP_CONNECT_RETRIES", "0")
    with pytest.raises(ApiUnreachable, match=rf"^cannot connect to 127.0.0.1:{port} \(sources.hubspot.api_base_url "
                                             rf"= http://127.0.0.1:{port}\): Connection refused$"):
        counting_client("hubspot", f"http://127.0.0.1:{port}", {}).get("/crm/v3/objects/contacts")
    default_retries.setenv("HTTP_CONNECT_RETRIES", "2")
    with pytest.raises(ApiUnreachable, match="after 3 attempts"):
        counting_client("hubspot", f"http://127.0.0.1:{port}", {},
                        base_url_setting="sources.hubspot.api_base_url").get("/x")


@pytest.mark.parametrize("source", ["notion", "hubspot"])
def test_a_source_whose_api_is_down_says_so_in_one_line_fast(source, fresh_sandbox, tmp_path, default_retries,
                                                              capsys):
    port = closed_port()
    for k, v in {**source_env(source, fresh_sandbox), **warehouse_env(tmp_path)}.items():
        default_retries.setenv(k, v)
    for var in ("RUNTIME__REQUEST_MAX_ATTEMPTS", "RUNTIME__REQUEST_BACKOFF_FACTOR", "RUNTIME__REQUEST_MAX_RETRY_DELAY",
                "HTTP_CONNECT_RETRIES"):
        default_retries.delenv(var, raising=False)
    default_retries.setenv(f"SOURCES__{source.upper()}__API_BASE_URL", f"http://127.0.0.1:{port}/api")
    started = time.monotonic()
    assert run_in_process(source) == 1
    assert time.monotonic() - started < 25  # the run, its two ledger writes and 3 quick connects; was 35 s +
    (line,) = [x for x in capsys.readouterr().err.splitlines() if "FAILED" in x]
    assert line == (f"[{source}] FAILED: cannot connect to 127.0.0.1:{port} (sources.{source}.api_base_url = "
                    f"http://127.0.0.1:{port}/api) after 3 attempts: Connection refused")


def test_a_malformed_body_names_the_endpoint(fresh_sandbox, clean_env):
    database = next(iter(fresh_sandbox.sandbox.notion.ws.database_ids.values()))
    fresh_sandbox.sandbox.traffic.inject_malformed("notion", 1)
    client = counting_client("notion", fresh_sandbox.notion_base_url,
                             {"Authorization": "Bearer sandbox-notion-token", "Notion-Version": "2025-09-03"})
    response = client.get(f"/databases/{database}")
    with pytest.raises(MalformedResponse) as caught:
        response.json()
    port = fresh_sandbox.port
    assert str(caught.value).startswith(f"malformed JSON from GET 127.0.0.1:{port}/notion/v1/databases/{database} "
                                        f"(HTTP 200, {len(response.content)} bytes, application/json): ")
    assert isinstance(caught.value, ValueError), "callers that catch ValueError from .json() still do"
    assert client.get(f"/databases/{database}").json()["object"] == "database"  # the next answer is fine


def test_http_errors_say_status_reason_and_endpoint_but_not_the_query(fresh_sandbox, clean_env):
    client = counting_client("notion", fresh_sandbox.notion_base_url, {"Notion-Version": "2025-09-03"})
    response = client.get("/databases/nope", params={"key": "query-secret-123456"})
    with pytest.raises(requests.HTTPError) as caught:
        response.raise_for_status()
    assert str(caught.value) == f"HTTP 401 Unauthorized from GET 127.0.0.1:{fresh_sandbox.port}/notion/v1/databases/nope"
    # a source's own message that leaves them out gets them appended in the one line
    try:
        try:
            response.raise_for_status()
        except requests.HTTPError:
            raise SourceError("Notion refused the request for database 'daily'") from None
    except SourceError as exc:
        line = one_line_error(exc)
    assert line == (f"Notion refused the request for database 'daily' [HTTP 401 Unauthorized from GET "
                    f"127.0.0.1:{fresh_sandbox.port}/notion/v1/databases/nope]")
    assert "query-secret-123456" not in line


def test_a_token_with_a_trailing_newline_is_refused_before_anything_is_sent(fresh_sandbox, clean_env, tmp_path):
    clean_env.setenv("SOURCES__PROBE__API_TOKEN", "probe-token-0123456789\n")

    @dlt.source(name="probe", section="probe")
    def probe(api_token: str = dlt.secrets.value):
        counting_client("probe", fresh_sandbox.notion_base_url, {"Authorization": f"Bearer {api_token}"})
        return dlt.resource([1], name="probe__rows")

    redaction.install()
    before = fresh_sandbox.sandbox.traffic.count("notion")
    with pytest.raises(SourceError) as caught:
        probe()
    assert str(caught.value) == ("sources.probe.api_token has a trailing newline (set in Environment Variables): "
                                 "remove it where the value is set (.dlt/secrets.toml, the environment or "
                                 "Secret Manager)")
    assert fresh_sandbox.sandbox.traffic.count("notion") == before

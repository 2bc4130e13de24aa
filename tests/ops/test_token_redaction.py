"""Token stores hand every token they read or write to the one redaction point (issue 14: a token with a trailing
newline was printed whole in requests' InvalidHeader message and stored in the ledger's error_summary).

Each test starts from an empty registry, so a token is masked only because the store registered it.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from pipelines.common import redaction
from pipelines.common.errors import SourceError, one_line_error
from pipelines.fitbit.oauth import token_refresher
from pipelines.fitbit.tokens import LocalFileTokenStore, TokenSet
from pipelines.fitbit.tokens.secret_manager import SecretManagerTokenStore
from tests.fixtures.secret_manager import FakeSecretManager

GSM_SECRET = "projects/personal-data/secrets/fitbit-tokens"


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch):
    monkeypatch.setattr(redaction, "_registry", redaction._Registry())


def planted(kind: str) -> str:
    """A token no configuration knows, with the trailing newline a copy-paste leaves."""
    return f"ya29.planted-{kind}-{uuid.uuid4().hex}\n"


def header_error(access_token: str) -> requests.exceptions.InvalidHeader:
    """The real failure: requests refuses a header value ending in a newline and quotes it in the message."""
    with pytest.raises(requests.exceptions.InvalidHeader) as caught:
        requests.Request("GET", "http://127.0.0.1:9/v4/users/me/dataTypes/steps/dataPoints",
                         headers={"Authorization": f"Bearer {access_token}"}).prepare()
    return caught.value


def test_a_token_read_from_the_local_file_store_is_redacted_in_an_error_message(tmp_path):
    access, refresh = planted("access"), planted("refresh")
    path = tmp_path / "fitbit_tokens.json"
    path.write_text(json.dumps({"access_token": access, "refresh_token": refresh, "expires_at": 4e9}))
    store = LocalFileTokenStore(path)
    exc = header_error(access)
    assert access.strip() in one_line_error(exc)  # nothing had told the redaction point about this token yet

    tokens = store.read()
    assert tokens.access_token == access
    line = one_line_error(exc)
    assert access.strip() not in line and redaction.MASK in line, line
    assert "InvalidHeader" in line or "header" in line.lower()
    wrapped = SourceError(f"refresh with {refresh!r} refused; stored pair {json.dumps(tokens.__dict__)}")
    line = one_line_error(wrapped)
    assert refresh.strip() not in line and access.strip() not in line, line


def test_tokens_a_refresh_writes_are_redacted_from_then_on(tmp_path):
    store = LocalFileTokenStore(tmp_path / "fitbit_tokens.json")
    new = TokenSet(planted("new-access"), planted("new-refresh"), 4e9)
    store.write(new)
    for token in (new.access_token, new.refresh_token):
        for text in (f"Bearer {token}", json.dumps({"t": token}), repr(token)):
            assert token.strip() not in redaction.redact(text), text


def test_the_secret_manager_store_registers_what_it_reads_and_writes():
    fake = FakeSecretManager()
    fake.add_secret(GSM_SECRET)
    writer = SecretManagerTokenStore(GSM_SECRET, fake, poll_seconds=0.02)
    written = TokenSet(planted("gsm-access"), planted("gsm-refresh"), 4e9)
    writer.write(written)
    assert written.access_token.strip() not in redaction.redact(written.access_token)

    redaction._registry = redaction._Registry()  # another run: it only reads the pair
    reader = SecretManagerTokenStore(GSM_SECRET, fake, poll_seconds=0.02)
    assert written.refresh_token.strip() in redaction.redact(written.refresh_token)
    assert reader.read() == written
    for token in (written.access_token, written.refresh_token):
        assert token.strip() not in one_line_error(SourceError(f"token {token} refused"))


def test_the_client_secret_a_refresh_sends_is_registered(tmp_path):
    secret = f"GOCSPX-planted-{uuid.uuid4().hex}"
    assert secret in redaction.redact(f"client_secret={secret}")
    token_refresher("client-id.apps.googleusercontent.com", secret, "http://127.0.0.1:9/token",
                    LocalFileTokenStore(tmp_path / "t.json"), None)
    assert secret not in redaction.redact(f"client_secret={secret}")

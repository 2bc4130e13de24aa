"""pipelines.common.redaction on its own (fast): what counts as a secret, the escaped forms, and each place it is
applied (streams, log records, exception lines, dlt's trace pickle, text files)."""

from __future__ import annotations

import base64
import io
import json
import logging
import pickle
from collections import namedtuple
from urllib.parse import quote

import pytest

from pipelines.common import redaction
from pipelines.common.errors import one_line_error


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch):
    """The registry is per process: each unit test starts from an empty one, whatever ran before it in this worker
    (past MAX_PAIR_VALUES registered secrets, basic-auth pairs of new values are no longer derived)."""
    monkeypatch.setattr(redaction, "_registry", redaction._Registry())


SECRET = "tok-unit-5f0c9a7e31b2\n"


def test_every_escaped_form_is_redacted():
    redaction.register_secret(SECRET, "sources.unit.api_token")
    core = SECRET.strip()
    for text in (SECRET, core, repr(SECRET), json.dumps({"t": SECRET}), quote(core, safe=""),
                 base64.b64encode(core.encode()).decode(), repr(f"Bearer {SECRET}".encode())):
        assert core not in redaction.redact(text) and redaction.redact(text) != text, text
    assert redaction.secret_name(f"Bearer {SECRET}") == "sources.unit.api_token"


def test_basic_auth_pairs_and_connection_string_passwords():
    redaction.register_secret("client-unit-4471", "sources.unit.client_id")
    redaction.register_secret("secret-unit-9db2", "sources.unit.client_secret")
    header = base64.b64encode(b"client-unit-4471:secret-unit-9db2").decode()
    assert header not in redaction.redact(f"Authorization: Basic {header}")
    redaction.register_secret("postgresql://loader:p%40ss-unit-77@db:5432/wh", "destination.postgres.credentials")
    assert "p@ss-unit-77" not in redaction.redact("password p@ss-unit-77 rejected")


def test_short_values_and_locations_are_not_secrets(monkeypatch, tmp_path):
    redaction.register_secret("EU")
    assert redaction.redact("location EU") == "location EU"
    monkeypatch.setenv("SOURCES__UNIT__TOKEN_STORE_PATH", str(tmp_path))
    monkeypatch.setenv("SOURCES__UNIT__API_KEY", "key-from-env-0a1b2c")
    assert redaction.redact(f"{tmp_path} key-from-env-0a1b2c") == f"{tmp_path} ***"


def test_a_stream_redacts_a_secret_split_over_two_writes():
    redaction.register_secret("split-unit-secret-2b9d")
    out = io.StringIO()
    stream = redaction.RedactingStream(out)
    stream.write("token split-unit-")
    stream.write("secret-2b9d here\nnext")
    stream.flush()
    assert out.getvalue() == "token *** here\nnext"


def test_log_records_are_redacted_with_their_arguments_and_tracebacks():
    redaction.install()
    redaction.register_secret("log-unit-secret-8e4f")
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    logger = logging.getLogger("dlt.unit")  # dlt's logger does not propagate to the root: the factory catches it
    handler = Keep()
    logger.addHandler(handler)
    try:
        logger.warning("headers %s", {"Authorization": "Bearer log-unit-secret-8e4f"})
        try:
            raise ValueError("bad token log-unit-secret-8e4f")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert records and all("log-unit-secret-8e4f" not in r for r in records), records
    assert "Bearer ***" in records[0] and "ValueError: bad token ***" in records[1]


def test_one_line_error_redacts_before_cutting_to_one_line():
    redaction.register_secret("line-unit-secret-c3\nsecond-line-part")
    line = one_line_error(RuntimeError("refused line-unit-secret-c3\nsecond-line-part and more"))
    assert line == "RuntimeError: refused *** and more"


Step = namedtuple("Step", "step step_exception exception_traces")  # the shape of dlt's PipelineStepTrace


def test_the_trace_pickle_and_text_files_are_sanitised(tmp_path):
    redaction.register_secret("trace-unit-secret-41aa")
    (tmp_path / "trace.pickle").write_bytes(pickle.dumps(
        [Step("extract", "failed with trace-unit-secret-41aa", [{"message": "trace-unit-secret-41aa"}])]))
    (tmp_path / "state.json").write_text('{"note": "trace-unit-secret-41aa"}')
    (tmp_path / "clean.json").write_text("{}")
    changed = redaction.sanitise_files([tmp_path])
    assert sorted(p.name for p in changed) == ["state.json", "trace.pickle"]
    (step,) = pickle.loads((tmp_path / "trace.pickle").read_bytes())
    assert step.step_exception == "failed with ***" and step.exception_traces == [{"message": "***"}]
    assert "trace-unit-secret" not in (tmp_path / "state.json").read_text()

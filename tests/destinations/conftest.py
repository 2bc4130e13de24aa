"""Fixtures of the destination tests: the sandbox every destination loads from."""

from __future__ import annotations

import pytest

from sandbox.server import SandboxServer
from tests.destinations.loaders import destination_sandbox, pipeline_env


@pytest.fixture
def pipelines_sandbox(tmp_path, monkeypatch) -> SandboxServer:
    """A running sandbox of the test year (sparse heart rate), with every pipeline's env pointing at it."""
    monkeypatch.delenv("SOURCES__FITBIT__TOKEN_STORE", raising=False)  # the local file store, never Secret Manager
    with destination_sandbox() as server:
        for name, value in pipeline_env(server, tmp_path).items():
            monkeypatch.setenv(name, value)
        yield server

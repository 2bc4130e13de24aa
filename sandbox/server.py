"""Runs the sandbox app with uvicorn on 127.0.0.1, in a background thread (tests, demo) or in the foreground."""

from __future__ import annotations

import json
import socket
import threading
import time

import uvicorn

from sandbox.app import Sandbox, SandboxConfig, build_sandbox, create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SandboxServer:
    """A running sandbox. `with SandboxServer() as srv:` gives srv.url and srv.sandbox (the live state)."""

    def __init__(self, config: SandboxConfig | None = None, port: int | None = None):
        self.sandbox: Sandbox = build_sandbox(config)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(create_app(self.sandbox), host="127.0.0.1", port=self.port,
                                                     log_level="warning", access_log=False))
        self._thread = threading.Thread(target=self._server.run, name="sandbox", daemon=True)

    def start(self) -> SandboxServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def notion_base_url(self) -> str:
        return f"{self.url}/notion/v1"

    @property
    def hubspot_base_url(self) -> str:
        return f"{self.url}/hubspot"

    @property
    def fitbit_base_url(self) -> str:
        """The legacy Fitbit Web API: every URL answers 410 Gone, as api.fitbit.com does since 2026-11-02."""
        return f"{self.url}/fitbit"

    @property
    def google_health_base_url(self) -> str:
        return f"{self.url}/google/health/v4"

    @property
    def google_token_uri(self) -> str:
        return f"{self.url}/google/oauth2/token"

    @property
    def google_auth_uri(self) -> str:
        return f"{self.url}/google/oauth2/auth"

    def pipeline_env(self) -> dict[str, str]:
        """Environment variables that point every pipeline at this sandbox (dlt config names)."""
        return {
            "SOURCES__NOTION__API_BASE_URL": self.notion_base_url,
            "SOURCES__NOTION__API_TOKEN": self.sandbox.config.notion_token,
            "SOURCES__NOTION__DATABASES": json.dumps(self.sandbox.notion.ws.database_ids),
            "SOURCES__FITBIT__API_BASE_URL": self.google_health_base_url,
            "SOURCES__FITBIT__TOKEN_URI": self.google_token_uri,
            "SOURCES__FITBIT__AUTH_URI": self.google_auth_uri,
            "SOURCES__FITBIT__CLIENT_ID": self.sandbox.config.fitbit_client_id,
            "SOURCES__FITBIT__CLIENT_SECRET": self.sandbox.config.fitbit_client_secret,
            # the first authorisation's refresh token; used only while the token store is empty
            "SOURCES__FITBIT__REFRESH_TOKEN": self.sandbox.google_health.first_refresh_token,
            "SOURCES__FITBIT__START_DATE": self.sandbox.config.life.start.isoformat(),
            "SOURCES__FITBIT__END_DATE": self.sandbox.config.life.end.isoformat(),
            "SOURCES__HUBSPOT__API_BASE_URL": self.hubspot_base_url,
            "SOURCES__HUBSPOT__API_TOKEN": self.sandbox.config.hubspot_token,
        }

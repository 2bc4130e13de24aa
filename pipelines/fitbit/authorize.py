"""The first consent with Google for the Google Health API: the refresh token into the configured token store.

    python -m pipelines.fitbit.authorize
        Desktop OAuth client: starts a one-shot server on a loopback port, opens the consent page in your
        browser (or prints it: --no-browser) and finishes by itself when Google redirects back.
    python -m pipelines.fitbit.authorize --redirect-uri https://www.google.com
        Web OAuth client (the redirect URI registered for it): prints the consent page, then asks for the URL
        your browser was sent to (the page itself need not load).
    python -m pipelines.fitbit.authorize --redirect-url '<that URL>'
        finishes a Web-client consent whose page an earlier run printed (for shells without a terminal).

google-auth-oauthlib does the OAuth: PKCE (S256), `access_type=offline` and `prompt=consent` (so Google
sends a refresh token every time), and the `state` of the redirect checked against the one sent. Settings
come from where the pipeline's come from (env vars, .dlt/secrets.toml, .dlt/config.toml, Secret Manager
when enabled): `sources.fitbit.client_id`, `client_secret` (or --client-secrets with the JSON the Cloud
console downloads), `auth_uri`, `token_uri`, `redirect_uri`, `api_base_url`, and the token store
(`token_store`, e.g. gsm://projects/<p>/secrets/fitbit-tokens, or the local `token_store_path`).
Tokens are never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import dlt
import requests

from pipelines.common import redaction
from pipelines.common.errors import SourceError
from pipelines.common.settings import REPO_ROOT
from pipelines.fitbit.settings import (
    API_BASE_URL,
    AUTH_URI,
    AUTHORIZE_COMMAND,
    DEFAULT_TOKEN_STORE_PATH,
    EXPORT_COMMAND,
    SCOPES,
    TOKEN_URI,
)
from pipelines.fitbit.tokens import TokenSet, TokenStore, open_token_store

# the PKCE verifier and state between printing a Web client's consent page and the pasted redirect (0600)
PENDING_PATH = REPO_ROOT / "data" / "fitbit_authorize_pending.json"
PENDING_SECONDS = 15 * 60
LOCK_TIMEOUT_SECONDS = 60
TIMEOUT_SECONDS = 30
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass
class Settings:
    client_id: str
    client_secret: str
    auth_uri: str
    token_uri: str
    api_base_url: str
    redirect_uri: str | None  # set: a Web client (paste the redirect); None: a Desktop client (loopback)
    store: TokenStore
    store_location: str | None

    def __repr__(self) -> str:
        return f"Settings(client_id={self.client_id!r}, store={self.store!r}, client_secret=***)"

    def client_config(self, kind: str) -> dict:
        """The client configuration google-auth-oauthlib takes (the shape of the console's JSON download)."""
        return {kind: {"client_id": self.client_id, "client_secret": self.client_secret, "auth_uri": self.auth_uri,
                       "token_uri": self.token_uri,
                       "redirect_uris": [self.redirect_uri] if self.redirect_uri else ["http://localhost"]}}


def load_settings(args: argparse.Namespace) -> Settings:
    def config(key: str, default: str | None = None) -> str | None:
        value = dlt.config.get(f"sources.fitbit.{key}")
        return str(value) if value not in (None, "") else default

    from_file: dict = {}
    if args.client_secrets:
        try:
            document = json.loads(Path(args.client_secrets).expanduser().read_text())
        except (OSError, ValueError) as exc:
            raise SourceError(f"cannot read the client secrets file {args.client_secrets}: {type(exc).__name__}") \
                from None
        kind = "web" if "web" in document else "installed"
        from_file = document.get(kind) or {}
        if kind == "web" and not args.redirect_uri and from_file.get("redirect_uris"):
            from_file["redirect_uri"] = from_file["redirect_uris"][0]
    client_id = from_file.get("client_id") or dlt.secrets.get("sources.fitbit.client_id")
    client_secret = from_file.get("client_secret") or dlt.secrets.get("sources.fitbit.client_secret")
    # a --client-secrets file is no dlt provider: its secret is registered here, the store's tokens by the store
    redaction.register_secret(client_secret, "--client-secrets client_secret" if from_file.get("client_secret")
                              else "sources.fitbit.client_secret")
    missing = [k for k, v in (("client_id", client_id), ("client_secret", client_secret)) if not v]
    if missing:
        raise SourceError(f"missing {', '.join(missing)} of the Google OAuth client: pass --client-secrets "
                          f"<client_secret_....json from the Cloud console> or set SOURCES__FITBIT__"
                          f"{missing[0].upper()} (or .dlt/secrets.toml [sources.fitbit])")
    store_location = args.token_store or config("token_store")
    store = open_token_store(store_location, config("token_store_path", DEFAULT_TOKEN_STORE_PATH))
    redirect = args.redirect_uri or from_file.get("redirect_uri") or config("redirect_uri")
    if redirect and (urlparse(redirect).hostname or "") in LOOPBACK_HOSTS:
        redirect = None  # a loopback redirect is the Desktop flow, whatever the port
    return Settings(str(client_id), str(client_secret), from_file.get("auth_uri") or config("auth_uri", AUTH_URI),
                    from_file.get("token_uri") or config("token_uri", TOKEN_URI),
                    config("api_base_url", API_BASE_URL).rstrip("/"), redirect, store, store_location)


def _allow_local_http(settings: Settings) -> None:
    """oauthlib refuses plain-HTTP OAuth endpoints; a loopback one (the sandbox) is allowed, nothing else.
    Scopes: Google lets the user untick some; that is reported below instead of failing the exchange."""
    os.environ["OAUTHLIB_RELAX_TOKEN_SCOPE"] = "1"
    hosts = {urlparse(u).hostname for u in (settings.auth_uri, settings.token_uri) if u.startswith("http://")}
    if hosts and hosts <= set(LOOPBACK_HOSTS):
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


# --- the Desktop client: a loopback redirect ----------------------------------------------------------


def consent_desktop(settings: Settings, port: int, open_browser: bool, browser: str | None,
                    timeout_seconds: float | None) -> dict:
    from google_auth_oauthlib.flow import InstalledAppFlow

    flow = InstalledAppFlow.from_client_config(settings.client_config("installed"), scopes=SCOPES)
    flow.run_local_server(
        host="localhost", port=port, open_browser=open_browser, browser=browser, timeout_seconds=timeout_seconds,
        authorization_prompt_message="Open this page, sign in with the Google account that has the Fitbit data "
                                     "and allow access:\n\n    {url}\n",
        success_message="Done: the pipeline can read your Google Health data. You may close this tab.",
        access_type="offline", prompt="consent", include_granted_scopes="true")
    return dict(flow.oauth2session.token)


# --- the Web client: paste the redirected URL -----------------------------------------------------------


def _web_flow(settings: Settings, state: str | None = None, code_verifier: str | None = None):
    from google_auth_oauthlib.flow import Flow

    return Flow.from_client_config(settings.client_config("web"), scopes=SCOPES, redirect_uri=settings.redirect_uri,
                                   state=state, code_verifier=code_verifier)


def start_web(settings: Settings) -> tuple[str, dict]:
    flow = _web_flow(settings)
    url, state = flow.authorization_url(access_type="offline", prompt="consent", include_granted_scopes="true")
    return url, {"state": state, "code_verifier": flow.code_verifier, "redirect_uri": settings.redirect_uri,
                 "created_at": time.time()}


def finish_web(settings: Settings, pending: dict, redirected: str) -> dict:
    redirected = redirected.strip()
    query = parse_qs(urlparse(redirected).query)
    if "error" in query:
        raise SourceError(f"Google redirected with error={query['error'][0]} (access was not allowed): run "
                          f"{AUTHORIZE_COMMAND} again and allow access")
    if "code" not in query:
        raise SourceError("that URL has no code parameter: paste the whole URL your browser was sent to")
    if query.get("state", [""])[0] != pending["state"]:
        raise SourceError("the state in that URL does not match this consent (an older or forged redirect): start "
                          "again")
    flow = _web_flow(settings, state=pending["state"], code_verifier=pending["code_verifier"])
    flow.fetch_token(authorization_response=redirected)
    return dict(flow.oauth2session.token)


def save_pending(pending: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        json.dump(pending, f)
    os.replace(tmp, path)


def load_pending(path: Path) -> dict:
    try:
        pending = json.loads(path.read_text())
    except FileNotFoundError:
        raise SourceError("no consent in progress: run without --redirect-url first to get the consent page") \
            from None
    if time.time() - pending["created_at"] > PENDING_SECONDS:
        raise SourceError("the consent page printed earlier has expired: run without --redirect-url for a new one")
    return pending


# --- after the exchange -------------------------------------------------------------------------------


def identity(settings: Settings, access_token: str) -> str:
    """The Health user id the consent belongs to; a refusal here says in one line why the API will refuse too."""
    response = requests.get(f"{settings.api_base_url}/users/me/identity", timeout=TIMEOUT_SECONDS,
                            headers={"Authorization": f"Bearer {access_token}"})
    if response.status_code == 403:
        raise SourceError(f"the consent worked, but the Google Health API refuses this Cloud project (403 "
                          f"PERMISSION_DENIED): enable the Google Health API in it, or, if it is enabled, the "
                          f"project is not onboarded (Google said in October 2026 it is not onboarding new "
                          f"projects); the Takeout export always works: {EXPORT_COMMAND}")
    if response.status_code != 200:
        return "-"
    return str(response.json().get("healthUserId") or "-")


def token_set(answer: dict, user_id: str, now: float) -> TokenSet:
    if not answer.get("refresh_token"):
        raise SourceError("Google sent no refresh token (it does without access_type=offline or when an earlier "
                          "consent is reused): remove the app at myaccount.google.com/permissions and run again")
    lifetime = answer.get("refresh_token_expires_in")
    return TokenSet(str(answer["access_token"]), str(answer["refresh_token"]),
                    float(answer.get("expires_at") or now + float(answer.get("expires_in", 3599))), user_id,
                    refresh_token_expires_at=now + float(lifetime) if lifetime else None, consented_at=now)


def missing_scopes(answer: dict) -> list[str]:
    granted = answer.get("scope") or []
    granted = set(granted.split() if isinstance(granted, str) else granted)
    return [s.rsplit(".", 2)[-2] for s in SCOPES if s not in granted]


def main(argv: list[str] | None = None, input_fn: Callable[[str], str] = input) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.fitbit.authorize", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client-secrets", help="the client_secret_....json downloaded from the Cloud console")
    parser.add_argument("--redirect-uri", help="a Web client's registered redirect URI (e.g. https://www.google.com); "
                                               "unset: a Desktop client on a loopback port")
    parser.add_argument("--redirect-url", help="the URL Google sent your browser to, for the page printed earlier")
    parser.add_argument("--token-store", help="where to store the token (default: sources.fitbit.token_store, else "
                                              "the local token_store_path)")
    parser.add_argument("--port", type=int, default=0, help="loopback port for a Desktop client (default: any free)")
    parser.add_argument("--no-browser", action="store_true", help="print the consent page instead of opening it")
    parser.add_argument("--browser", help="the webbrowser name to open the page with (default: the system's)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the browser (Desktop)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args)
        _allow_local_http(settings)
        if args.redirect_url:
            if settings.redirect_uri is None:
                settings.redirect_uri = load_pending(PENDING_PATH)["redirect_uri"]
            answer = finish_web(settings, load_pending(PENDING_PATH), args.redirect_url)
            PENDING_PATH.unlink(missing_ok=True)
        elif settings.redirect_uri:
            url, pending = start_web(settings)
            save_pending(pending, PENDING_PATH)
            print(f"1. Open this page, sign in with the Google account that has the Fitbit data and allow access:\n\n"
                  f"   {url}\n")
            print(f"2. Your browser is sent to {settings.redirect_uri}?...code=... (that page need not load).")
            try:
                redirected = input_fn("   Paste that whole URL here: ")
            except EOFError:
                print(f"\nNo terminal to paste into: within {PENDING_SECONDS // 60} minutes run\n"
                      f"   {AUTHORIZE_COMMAND} --redirect-url '<the URL you were sent to>'")
                return 0
            answer = finish_web(settings, pending, redirected)
            PENDING_PATH.unlink(missing_ok=True)
        else:
            answer = consent_desktop(settings, args.port, not args.no_browser, args.browser, args.timeout)
        now = time.time()
        tokens = token_set(answer, "-", now)
        with settings.store.locked(LOCK_TIMEOUT_SECONDS):
            settings.store.write(tokens)  # first: nothing that happens next can lose the consent
        user_id = identity(settings, tokens.access_token)
        if user_id != "-":
            with settings.store.locked(LOCK_TIMEOUT_SECONDS):
                settings.store.write(replace(tokens, user_id=user_id))
    except SourceError as exc:
        print(f"[fitbit authorize] FAILED: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - oauthlib's and the network's errors, as one line without secrets
        print(f"[fitbit authorize] FAILED: {_oauth_error(exc)}", file=sys.stderr)
        return 1
    print(f"Stored the Google refresh token for Health user {user_id} in {settings.store!r}; pipeline runs use it "
          f"from now on.")
    if tokens.refresh_token_expires_at:
        print(f"Google says it expires on {time.strftime('%Y-%m-%d', time.gmtime(tokens.refresh_token_expires_at))} "
              f"(7 days): the OAuth consent screen is in \"Testing\". Publish the app \"In production\" (personal "
              f"use needs no verification) and consent again, or run this every week.")
    if missing := missing_scopes(answer):
        print(f"Not granted: {', '.join(missing)}; those data types will be refused. Run again and allow every box.")
    return 0


def _oauth_error(exc: Exception) -> str:
    from oauthlib.oauth2.rfc6749 import errors as oauth_errors

    if isinstance(exc, oauth_errors.MismatchingStateError):
        return "the state Google sent back does not match the one sent (an older or forged redirect): start again"
    if isinstance(exc, oauth_errors.OAuth2Error):
        return (f"Google refused the consent's code ({exc.error}: {exc.description or 'no detail'}); codes work once "
                f"and expire in minutes: run {AUTHORIZE_COMMAND} again")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}"

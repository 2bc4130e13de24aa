"""First Fitbit authorisation: consent URL (PKCE), code exchange, the token pair into the configured token store.

    python -m pipelines.fitbit.authorize
        prints the consent URL, then asks for the URL Fitbit redirected your browser to (or its code)
    python -m pipelines.fitbit.authorize --code '<the redirected URL, or just its code>'
        finishes the authorisation whose URL an earlier run printed (for non-interactive shells)

Settings come from the same places as the pipeline's (env vars, .dlt/secrets.toml, .dlt/config.toml,
Secret Manager when enabled): `sources.fitbit.client_id`, `client_secret`, `api_base_url`,
`authorize_url`, `redirect_uri` (must equal the app's registered Callback URL), and the token
store: `token_store` (e.g. gsm://projects/<p>/secrets/fitbit-tokens) or the local `token_store_path`.
Tokens are never printed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import dlt

from pipelines.common.errors import SourceError
from pipelines.common.settings import REPO_ROOT
from pipelines.fitbit.client import exchange_authorization_code
from pipelines.fitbit.settings import API_BASE_URL, AUTHORIZE_URL, DEFAULT_TOKEN_STORE_PATH, REDIRECT_URI, SCOPES
from pipelines.fitbit.tokens import TokenStore, open_token_store

# the PKCE verifier and state between printing the URL and receiving the code (git-ignored, mode 0600)
PENDING_PATH = REPO_ROOT / "data" / "fitbit_authorize_pending.json"
PENDING_SECONDS = 15 * 60
LOCK_TIMEOUT_SECONDS = 60


@dataclass
class Settings:
    client_id: str
    client_secret: str
    api_base_url: str
    authorize_url: str
    redirect_uri: str
    store: TokenStore

    def __repr__(self) -> str:
        return f"Settings(client_id={self.client_id!r}, store={self.store!r}, client_secret=***)"


def load_settings(redirect_uri: str | None = None, token_store: str | None = None) -> Settings:
    def config(key: str, default: str | None = None) -> str | None:
        value = dlt.config.get(f"sources.fitbit.{key}")
        return str(value) if value not in (None, "") else default

    client_id = dlt.secrets.get("sources.fitbit.client_id")
    client_secret = dlt.secrets.get("sources.fitbit.client_secret")
    missing = [k for k, v in (("client_id", client_id), ("client_secret", client_secret)) if not v]
    if missing:
        raise SourceError(f"missing configuration {', '.join(missing)} for the Fitbit app: set them in "
                          f".dlt/secrets.toml [sources.fitbit] or SOURCES__FITBIT__{missing[0].upper()}")
    store = open_token_store(token_store or config("token_store"), config("token_store_path", DEFAULT_TOKEN_STORE_PATH))
    return Settings(str(client_id), str(client_secret), config("api_base_url", API_BASE_URL).rstrip("/"),
                    config("authorize_url", AUTHORIZE_URL), redirect_uri or config("redirect_uri", REDIRECT_URI),
                    store)


def pkce_challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def new_pending(redirect_uri: str) -> dict:
    return {"state": secrets.token_urlsafe(24), "code_verifier": secrets.token_urlsafe(96)[:128],
            "redirect_uri": redirect_uri, "created_at": time.time()}


def consent_url(settings: Settings, pending: dict) -> str:
    query = {"client_id": settings.client_id, "response_type": "code", "scope": SCOPES,
             "redirect_uri": pending["redirect_uri"], "code_challenge": pkce_challenge(pending["code_verifier"]),
             "code_challenge_method": "S256", "state": pending["state"]}
    return f"{settings.authorize_url}?{urlencode(query)}"


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
        raise SourceError("no authorisation in progress: run without --code first to get the consent URL") from None
    if time.time() - pending["created_at"] > PENDING_SECONDS:
        raise SourceError("the consent URL printed earlier has expired: run without --code to get a new one")
    return pending


def code_from(answer: str, pending: dict) -> str:
    """The code from the redirected URL (state verified) or from a bare code."""
    answer = answer.strip()
    if not answer:
        raise SourceError("no code given")
    if "://" not in answer and "code=" not in answer:
        return answer  # a bare code: nothing to check the state against
    query = parse_qs(urlparse(answer if "://" in answer else f"http://x/?{answer.lstrip('?')}").query)
    if "error" in query:
        raise SourceError(f"Fitbit redirected with error={query['error'][0]}"
                          f"{': ' + query['error_description'][0] if 'error_description' in query else ''}")
    if "code" not in query:
        raise SourceError("the URL has no code parameter: paste the whole URL your browser was redirected to")
    if query.get("state", [""])[0] != pending["state"]:
        raise SourceError("the state in that URL does not match this authorisation (an older or forged "
                          "redirect): start again")
    return query["code"][0]


def main(argv: list[str] | None = None, input_fn: Callable[[str], str] = input) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.fitbit.authorize", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", help="the URL Fitbit redirected to (or only its code), for the URL printed earlier")
    parser.add_argument("--redirect-uri", help=f"the app's registered Callback URL (default: sources.fitbit."
                                               f"redirect_uri or {REDIRECT_URI})")
    parser.add_argument("--token-store", help="where to store the pair (default: sources.fitbit.token_store, "
                                              "else the local token_store_path)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.redirect_uri, args.token_store)
        if args.code:
            pending = load_pending(PENDING_PATH)
            answer = args.code
        else:
            pending = new_pending(settings.redirect_uri)
            save_pending(pending, PENDING_PATH)
            print("1. Open this URL, sign in to Fitbit and allow access:\n")
            print(f"   {consent_url(settings, pending)}\n")
            print(f"2. Your browser is sent to {pending['redirect_uri']}?code=... (the page itself may not load).")
            try:
                answer = input_fn("   Paste that whole URL (or just the code) here: ")
            except EOFError:
                print(f"\nNo terminal to paste into: run again within {PENDING_SECONDS // 60} minutes with\n"
                      f"   python -m pipelines.fitbit.authorize --code '<the redirected URL>'")
                return 0
        code = code_from(answer, pending)
        tokens = exchange_authorization_code(settings.api_base_url, settings.client_id, settings.client_secret,
                                             code, pending["redirect_uri"], pending["code_verifier"])
        with settings.store.locked(LOCK_TIMEOUT_SECONDS):
            settings.store.write(tokens)
        PENDING_PATH.unlink(missing_ok=True)
    except SourceError as exc:
        print(f"[fitbit_authorize] FAILED: {exc}", file=sys.stderr)
        return 1
    valid_until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(tokens.expires_at))
    print(f"Stored a new Fitbit token pair for user {tokens.user_id} in {settings.store!r} (access token valid "
          f"until {valid_until}). Pipeline runs refresh it from now on.")
    return 0


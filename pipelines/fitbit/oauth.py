"""Google OAuth for the Health API: refreshing the access token with google-auth, and saying in one line
what a refusal means and what to run.

Google does not rotate refresh tokens (a refresh answers an access token only), so the token store keeps
the refresh token from the first consent plus the current access token. What can end a refresh token:
the user revoking access, a password change, more than 100 tokens for one client, or, for an app whose
OAuth consent screen is in "Testing", 7 days after the consent. Google's answer is the same
`invalid_grant` ("Token has been expired or revoked.") for all of them; the store remembers when the
consent said the token would expire (`refresh_token_expires_in`, sent only in Testing), which tells the
two main causes apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC

import requests
from google.auth import exceptions as gauth_exceptions
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials

from pipelines.common import redaction
from pipelines.common.errors import SourceError
from pipelines.fitbit.settings import AUTHORIZE_COMMAND, EXPORT_COMMAND
from pipelines.fitbit.tokens import TokenSet, TokenStore

TIMEOUT_SECONDS = 30


def gone_line(url: str) -> str:
    """The one line for a 410 from a legacy Fitbit URL."""
    host = url.split("/")[2] if "://" in url else url
    return (f"the Fitbit Web API is gone (HTTP 410 Gone from {host}, switched off on 2026-11-02): this pipeline now "
            f"reads the Google Health API: unset sources.fitbit.api_base_url and token_uri (or set them to "
            f"https://health.googleapis.com/v4 and https://oauth2.googleapis.com/token), then consent with Google "
            f"once: {AUTHORIZE_COMMAND} (Fitbit tokens do not carry over); the Takeout export works meanwhile: "
            f"{EXPORT_COMMAND}")


def reauthorize_command(store_location: str | None) -> str:
    """The exact command that stores a new refresh token where this run reads it."""
    return f"{AUTHORIZE_COMMAND} --token-store {store_location}" if store_location else AUTHORIZE_COMMAND


def is_fitbit_token(refresh_token: str) -> bool:
    """A legacy Fitbit Web API refresh token (64 hex characters); Google's start with '1//'."""
    return len(refresh_token) == 64 and all(c in "0123456789abcdef" for c in refresh_token)


def invalid_grant_line(tokens: TokenSet | None, description: str, store_location: str | None,
                       now: float | None = None) -> str:
    """Which it likely is (revoked, or the 7-day expiry of a consent screen in "Testing"), and what to run."""
    now = time.time() if now is None else now
    command = reauthorize_command(store_location)
    detail = f"invalid_grant: {description}" if description else "invalid_grant"
    if tokens is not None and is_fitbit_token(tokens.refresh_token):
        return (f"the token store holds a legacy Fitbit Web API refresh token, which Google refuses ({detail}): "
                f"Fitbit tokens do not carry over, consent with Google once: {command}")
    expires_at = tokens.refresh_token_expires_at if tokens is not None else None
    if expires_at is not None and now >= expires_at - 60:
        return (f"Google refused the stored refresh token ({detail}): it expired "
                f"{time.strftime('%Y-%m-%d', time.gmtime(expires_at))}, 7 days after the consent, because the "
                f"app's OAuth consent screen is in \"Testing\" (publish it \"In production\" to stop this); "
                f"re-authorise: {command}")
    if expires_at is not None:
        return (f"Google refused the stored refresh token ({detail}) before its 7-day \"Testing\" expiry: access "
                f"was revoked (Google Account > Security > third-party access, or a password change); "
                f"re-authorise: {command}")
    return (f"Google refused the stored refresh token ({detail}): access was revoked (Google Account > Security > "
            f"third-party access, a password change, or over 100 tokens for this client), or it expired 7 days "
            f"after the consent because the app's OAuth consent screen is in \"Testing\"; re-authorise: {command}")


class _TimedRequest(Request):
    """google-auth's requests transport with our timeout, remembering the last HTTP status it saw."""

    def __init__(self, session: requests.Session, timeout: float):
        super().__init__(session)
        self.timeout = timeout
        self.last_status: int | None = None
        self.last_url: str | None = None

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        response = super().__call__(url, method=method, body=body, headers=headers, timeout=self.timeout, **kwargs)
        self.last_status, self.last_url = response.status, url
        return response


def token_refresher(client_id: str, client_secret: str, token_uri: str, store: TokenStore,
                    store_location: str | None, timeout: float = TIMEOUT_SECONDS) -> Callable[[str], TokenSet]:
    """The refresh that `fresh_tokens` runs under the store's lock: google.oauth2 Credentials against
    `token_uri`; the same refresh token is kept (Google does not rotate it), the new access token cached."""
    redaction.register_secret(client_secret, "sources.fitbit.client_secret")  # it goes into every refresh request

    def refresh(refresh_token: str) -> TokenSet:
        current = store.read()
        credentials = Credentials(token=None, refresh_token=refresh_token, token_uri=token_uri,
                                  client_id=client_id, client_secret=client_secret)
        session = requests.Session()
        request = _TimedRequest(session, timeout)
        try:
            credentials.refresh(request)
        except gauth_exceptions.RefreshError as exc:
            raise SourceError(_refusal_line(exc, request, current, store_location)) from None
        except gauth_exceptions.TransportError as exc:
            raise SourceError(f"could not reach Google's token endpoint {token_uri}: {type(exc).__name__}") from None
        finally:
            session.close()
        expires_at = (credentials.expiry.replace(tzinfo=UTC).timestamp() if credentials.expiry
                      else time.time() + 3600)
        refreshed = TokenSet(credentials.token, refresh_token, expires_at, current.user_id if current else "-")
        if current is not None:  # carry what the consent recorded (expiry in Testing, when consented)
            refreshed = replace(refreshed, refresh_token_expires_at=current.refresh_token_expires_at,
                                consented_at=current.consented_at)
        return refreshed

    return refresh


def _refusal_line(exc: gauth_exceptions.RefreshError, request: _TimedRequest, current: TokenSet | None,
                  store_location: str | None) -> str:
    if request.last_status == 410:
        return gone_line(request.last_url or "")
    body = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    error = str(body.get("error", "")) if body else ""
    description = str(body.get("error_description", "")) if body else ""
    if error == "invalid_grant":
        return invalid_grant_line(current, description, store_location)
    if error in ("invalid_client", "unauthorized_client"):
        return (f"Google does not accept this OAuth client ({error}: {description or 'no detail'}): check "
                f"sources.fitbit.client_id and client_secret against the Cloud console's OAuth client")
    status = f"HTTP {request.last_status}" if request.last_status else "no HTTP answer"
    return f"Google's token endpoint refused the refresh ({status}, {error or 'no error code'}: {description[:160]})"

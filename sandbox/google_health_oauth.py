"""Google's OAuth endpoints as the Health API's clients meet them: the consent page and the token endpoint.

- consent (`GET /google/oauth2/auth`): checks the client, the redirect URI (a Desktop client may use any
  loopback port; a Web client only its registered URIs) and PKCE, then "the user allows" at once and the
  browser is redirected with `code`, `state` and `scope` (knobs: deny, or grant only some scopes).
- token (`POST /google/oauth2/token`, form-encoded): `authorization_code` (single-use code, redirect URI and
  S256 verifier checked) answers an access token (1 hour) and a refresh token; `refresh_token` answers an
  access token only (Google does not rotate refresh tokens). Refusals have Google's shape:
  400 `{"error": "invalid_grant", "error_description": "Token has been expired or revoked."}`,
  401 `invalid_client`.
- publishing status: "testing" (the default for a new consent screen) issues refresh tokens that expire
  7 days after the consent, and says so (`refresh_token_expires_in`); "production" does not.
Knobs: revoke every refresh token, let 7 days pass (Testing), expire access tokens now or after N requests.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlparse

TESTING_REFRESH_SECONDS = 7 * 24 * 3600  # Google: refresh tokens of a "Testing" app expire in 7 days
ACCESS_TOKEN_SECONDS = 3599


@dataclass
class Grant:
    """A refresh token and what it can do."""

    scopes: tuple[str, ...]
    issued_at: float
    expires_at: float | None
    revoked: bool = False


@dataclass
class GoogleOAuth:
    """The sandbox's OAuth client registration, the user's consents and the tokens issued."""

    client_id: str
    client_secret: str
    publishing_status: str = "testing"  # or "production"
    redirect_uris: tuple[str, ...] = ("https://www.google.com",)  # a Web client's registered URIs
    access_token_seconds: int = ACCESS_TOKEN_SECONDS
    grants: dict[str, Grant] = field(default_factory=dict)  # refresh token -> grant
    access_tokens: dict[str, tuple[float, tuple[str, ...]]] = field(default_factory=dict)  # token -> (expiry, scopes)
    codes: dict[str, dict] = field(default_factory=dict)
    deny_consent: bool = False
    granted_scopes: tuple[str, ...] | None = None  # the user unticks the others (None: all requested)
    expire_after_requests: int | None = None
    clock: float = 0.0  # seconds added to time.time(): "7 days later" without waiting

    def now(self) -> float:
        return time.time() + self.clock

    # --- what the first consent leaves behind ---------------------------------------------

    def issue_refresh_token(self, scopes: tuple[str, ...]) -> tuple[str, dict]:
        token = "1//sandbox-" + secrets.token_urlsafe(32)
        expires = self.now() + TESTING_REFRESH_SECONDS if self.publishing_status == "testing" else None
        self.grants[token] = Grant(scopes, self.now(), expires)
        body = self._access_token_body(scopes, token)
        body["refresh_token"] = token
        return token, body

    def _access_token_body(self, scopes: tuple[str, ...], refresh_token: str) -> dict:
        access = "ya29.sandbox-" + secrets.token_urlsafe(40)
        self.access_tokens[access] = (self.now() + self.access_token_seconds, scopes)
        body = {"access_token": access, "expires_in": self.access_token_seconds, "scope": " ".join(scopes),
                "token_type": "Bearer"}
        grant = self.grants[refresh_token]
        if grant.expires_at is not None:
            body["refresh_token_expires_in"] = max(0, int(grant.expires_at - self.now()))
        return body

    # --- knobs --------------------------------------------------------------------------------

    def revoke_refresh_tokens(self) -> None:
        """The user removed the app's access (Google Account > Security > third-party access)."""
        for grant in self.grants.values():
            grant.revoked = True
        self.access_tokens.clear()

    def pass_days(self, days: float) -> None:
        """Move the sandbox's OAuth clock forward (e.g. 7 days: a Testing app's refresh tokens expire)."""
        self.clock += days * 86_400

    def expire_access_tokens(self, after_requests: int = 0) -> None:
        """Every access token issued so far stops working after `after_requests` more API requests."""
        if after_requests <= 0:
            for token, (_, scopes) in list(self.access_tokens.items()):
                self.access_tokens[token] = (0.0, scopes)
            self.expire_after_requests = None
        else:
            self.expire_after_requests = after_requests

    def check_access_token(self, token: str) -> tuple[str, tuple[str, ...]]:
        """("" and the token's scopes) when it is valid, else (the ErrorInfo reason, ())."""
        if self.expire_after_requests is not None:
            self.expire_after_requests -= 1
            if self.expire_after_requests <= 0:
                self.expire_access_tokens(0)
        if not token:
            return "CREDENTIALS_MISSING", ()
        if token not in self.access_tokens:
            return "ACCESS_TOKEN_INVALID", ()
        expires, scopes = self.access_tokens[token]
        if expires <= self.now():
            return "ACCESS_TOKEN_EXPIRED", ()
        return "", scopes

    # --- the consent page -------------------------------------------------------------------------

    def consent(self, query: dict[str, str]) -> tuple[int, str]:
        """(HTTP status, redirect location or error text) for GET /google/oauth2/auth."""
        if query.get("client_id") != self.client_id:
            return 401, "Error 401: invalid_client. The OAuth client was not found."
        redirect = query.get("redirect_uri", "")
        if not self._redirect_allowed(redirect):
            return 400, ("Error 400: redirect_uri_mismatch. You can't sign in to this app because it doesn't comply "
                         "with Google's OAuth 2.0 policy.")
        if query.get("response_type") != "code":
            return 400, "Error 400: invalid_request. Required parameter is missing: response_type"
        if query.get("code_challenge_method", "S256") != "S256" or not query.get("code_challenge"):
            return 400, "Error 400: invalid_request. Missing code_challenge (PKCE S256 required by this sandbox)."
        state = query.get("state")
        if self.deny_consent:
            return 302, _with_query(redirect, {"error": "access_denied", **({"state": state} if state else {})})
        requested = tuple(query.get("scope", "").split())
        scopes = tuple(s for s in requested if self.granted_scopes is None or s in self.granted_scopes)
        code = "4/sandbox-" + secrets.token_urlsafe(24)
        self.codes[code] = {"redirect_uri": redirect, "challenge": query["code_challenge"], "scopes": scopes,
                            "offline": query.get("access_type") == "offline", "expires": self.now() + 600}
        return 302, _with_query(redirect, {**({"state": state} if state else {}), "code": code,
                                           "scope": " ".join(scopes)})

    def _redirect_allowed(self, redirect: str) -> bool:
        parsed = urlparse(redirect)
        loopback = parsed.scheme == "http" and parsed.hostname in ("localhost", "127.0.0.1")
        return loopback or redirect.rstrip("/") in {u.rstrip("/") for u in self.redirect_uris}

    # --- the token endpoint -------------------------------------------------------------------------

    def token(self, form: dict[str, str]) -> tuple[int, dict]:
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange(form)
        if grant_type == "refresh_token":
            token = form.get("refresh_token", "")
            grant = self.grants.get(token)
            if grant is None or grant.revoked or (grant.expires_at is not None and grant.expires_at <= self.now()):
                return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            return 200, self._access_token_body(grant.scopes, token)
        return 400, {"error": "unsupported_grant_type", "error_description": f"Invalid grant_type: {grant_type}"}

    def _exchange(self, form: dict[str, str]) -> tuple[int, dict]:
        code = self.codes.pop(form.get("code", ""), None)  # single use, whatever happens next
        if code is None or code["expires"] <= self.now():
            return 400, {"error": "invalid_grant", "error_description": "Malformed auth code."}
        if form.get("redirect_uri") != code["redirect_uri"]:
            return 400, {"error": "redirect_uri_mismatch", "error_description": "Bad Request"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != code["challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "Invalid code verifier."}
        if not code["offline"]:  # no refresh token without access_type=offline
            token, body = self.issue_refresh_token(code["scopes"])
            del self.grants[token]
            body.pop("refresh_token", None)
            body.pop("refresh_token_expires_in", None)
            return 200, body
        return 200, self.issue_refresh_token(code["scopes"])[1]


def _with_query(url: str, params: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"

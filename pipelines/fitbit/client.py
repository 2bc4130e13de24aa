"""HTTP details of the Fitbit Web API: token refresh through the token store (also when a token dies
mid-run), and the hourly request budget."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import requests
from requests.auth import AuthBase

from pipelines.common.errors import SourceError
from pipelines.common.http import counting_client
from pipelines.fitbit.tokens import TokenSet, TokenStore, fresh_tokens


class BudgetSpent(Exception):
    """The hourly request budget is used up: resources stop where they are and the next run resumes."""


@dataclass
class RequestBudget:
    """At most `limit` requests this run, and never past the server's Fitbit-Rate-Limit-Remaining."""

    limit: int
    used: int = 0
    remaining: int | None = None

    def spend(self) -> None:
        if self.used >= self.limit or self.remaining == 0:
            raise BudgetSpent
        self.used += 1

    def observe(self, response: requests.Response) -> None:
        if "Fitbit-Rate-Limit-Remaining" in response.headers:
            self.remaining = int(response.headers["Fitbit-Rate-Limit-Remaining"])


def token_refresher(base_url: str, client_id: str, client_secret: str):
    """POST /oauth2/token with Basic client auth; the answer's refresh token replaces the one just spent."""

    def refresh(refresh_token: str) -> TokenSet:
        response = requests.post(f"{base_url}/oauth2/token", auth=(client_id, client_secret), timeout=30,
                                 data={"grant_type": "refresh_token", "refresh_token": refresh_token})
        if response.status_code == 400 and "invalid_grant" in response.text:
            raise SourceError("Fitbit refused the stored refresh token (invalid_grant: already used or revoked); "
                              "authorise again to store a new token pair")
        if response.status_code != 200:
            raise SourceError(f"Fitbit token refresh failed with HTTP {response.status_code}")
        body = response.json()
        return TokenSet(body["access_token"], body["refresh_token"], time.time() + int(body["expires_in"]),
                        body.get("user_id", "-"))

    return refresh


def exchange_authorization_code(base_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str,
                                code_verifier: str) -> TokenSet:
    """The first authorisation: trade the consent page's single-use code (with its PKCE verifier) for a token pair."""
    response = requests.post(f"{base_url}/oauth2/token", auth=(client_id, client_secret), timeout=30,
                             data={"grant_type": "authorization_code", "code": code, "client_id": client_id,
                                   "redirect_uri": redirect_uri, "code_verifier": code_verifier})
    if response.status_code != 200:
        try:
            error = response.json()["errors"][0]
            detail = f"{error.get('errorType')}: {error.get('message', '')}"
        except (ValueError, KeyError, IndexError, TypeError):
            detail = "no error body"
        raise SourceError(f"Fitbit refused the authorization code (HTTP {response.status_code}, "
                          f"{detail.replace(code, '***')[:200]}); codes work once and expire in minutes: start again")
    body = response.json()
    return TokenSet(body["access_token"], body["refresh_token"], time.time() + int(body["expires_in"]),
                    body.get("user_id", "-"))


class _BearerAuth(AuthBase):
    """Adds the current access token when a request is sent (so a mid-run refresh takes effect at once,
    and the token is never part of the client's default headers, which dlt logs at debug level)."""

    def __init__(self, client: FitbitClient):
        self.client = client

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.client.tokens.access_token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(***)"


class FitbitClient:
    """GETs against the Web API with a fresh access token, counting every request against the budget.

    A 401 mid-run (the access token expired or was revoked while we were walking windows) is
    answered once per request: refresh through the token store (under its lock, the new pair saved
    before it is used), then retry. A second 401 for the same request is an error that says so.
    """

    def __init__(self, base_url: str, client_id: str, client_secret: str, store: TokenStore,
                 seed_refresh_token: str | None, budget: RequestBudget, lock_timeout_seconds: float = 60):
        if seed_refresh_token and store.read() is None:
            with store.locked(lock_timeout_seconds):
                if store.read() is None:
                    # the first authorisation's token, only until the store holds its own rotated pair
                    store.write(TokenSet("", seed_refresh_token, 0.0))
        self.store = store
        self.lock_timeout_seconds = lock_timeout_seconds
        self.refresh = token_refresher(base_url, client_id, client_secret)
        self.tokens = fresh_tokens(store, self.refresh, lock_timeout_seconds)
        self.budget = budget
        self.client = counting_client("fitbit", base_url, {"Accept-Language": "en_GB"})
        self.auth = _BearerAuth(self)

    def _send(self, path: str, params: dict | None) -> requests.Response:
        self.budget.spend()
        response = self.client.get(path, params=params, auth=self.auth)
        self.budget.observe(response)
        return response

    def get(self, path: str, params: dict | None = None) -> dict:
        response = self._send(path, params)
        if response.status_code == 401:
            error_type = _error_type(response)
            self.tokens = fresh_tokens(self.store, self.refresh, self.lock_timeout_seconds,
                                       rejected_access_token=self.tokens.access_token)
            print(f"[fitbit] the access token was rejected mid-run (401 {error_type}): refreshed it through the "
                  f"token store and retried {path.split('?')[0]}", file=sys.stderr)
            response = self._send(path, params)
            if response.status_code == 401:
                raise SourceError(f"Fitbit rejected the access token again right after a refresh "
                                  f"(401 {_error_type(response)}): the app's access was revoked or its scopes "
                                  f"changed; run scripts/fitbit_authorize.py to authorise again")
        if response.status_code == 429:
            raise BudgetSpent
        if response.status_code >= 400:
            raise SourceError(f"Fitbit answered HTTP {response.status_code} for {path.split('?')[0]}: "
                              f"{self._safe_detail(response)}")
        return response.json()

    def _safe_detail(self, response: requests.Response) -> str:
        """The error type and message, with any token Fitbit echoes back masked (its 401/400 messages do that)."""
        try:
            error = response.json()["errors"][0]
            detail = f"{error.get('errorType')}: {error.get('message', '')}"
        except (ValueError, KeyError, IndexError, TypeError):
            detail = response.text
        for token in (self.tokens.access_token, self.tokens.refresh_token):
            if token:
                detail = detail.replace(token, "***")
        return detail[:200]


def _error_type(response: requests.Response) -> str:
    try:
        return str(response.json()["errors"][0]["errorType"])
    except (ValueError, KeyError, IndexError, TypeError):
        return "no error type"


def report_budget_stop(used: int, where: str) -> None:
    print(f"[fitbit] hourly request budget spent after {used} requests: stopped cleanly at {where}; "
          f"the next run resumes there", file=sys.stderr)

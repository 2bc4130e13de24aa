"""HTTP details of the Fitbit Web API: token refresh through the token store, and the hourly request budget."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import requests

from pipelines.common.http import SourceError, counting_client
from pipelines.common.token_store import LocalFileTokenStore, TokenSet, fresh_tokens


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


class FitbitClient:
    """GETs against the Web API with a fresh access token, counting every request against the budget."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, store: LocalFileTokenStore,
                 seed_refresh_token: str | None, budget: RequestBudget):
        if store.read() is None and seed_refresh_token:
            # the first authorisation's token, only until the store holds its own rotated pair
            store.write(TokenSet("", seed_refresh_token, 0.0))
        tokens = fresh_tokens(store, token_refresher(base_url, client_id, client_secret))
        self.budget = budget
        self.client = counting_client("fitbit", base_url, {"Authorization": f"Bearer {tokens.access_token}",
                                                           "Accept-Language": "en_GB"})

    def get(self, path: str, params: dict | None = None) -> dict:
        self.budget.spend()
        response = self.client.get(path, params=params)
        self.budget.observe(response)
        if response.status_code == 429:
            raise BudgetSpent
        if response.status_code == 401:
            raise SourceError("Fitbit rejected the access token (401): it was revoked or expired mid-run")
        if response.status_code >= 400:
            raise SourceError(f"Fitbit answered HTTP {response.status_code} for {path}: {response.text[:200]}")
        return response.json()


def report_budget_stop(used: int, where: str) -> None:
    print(f"[fitbit] hourly request budget spent after {used} requests: stopped cleanly at {where}; "
          f"the next run resumes there", file=sys.stderr)

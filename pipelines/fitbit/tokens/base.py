"""Where OAuth tokens live: the TokenSet, the store interface, and a refresh that happens once.

Google does not rotate refresh tokens, so for the Google Health API the store holds the refresh token of
the first consent and the current access token (cached, so runs within its hour do not refresh); the
interface also covers providers that do rotate (each refresh then writes the new pair before using it).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pipelines.common import redaction
from pipelines.common.errors import SourceError


@dataclass(frozen=True)
class TokenSet:
    """An access token, the refresh token that renews it, and when the access token expires.

    `refresh_token_expires_at` is when the consent said the refresh token itself expires (Google sends
    `refresh_token_expires_in` only for apps whose consent screen is in "Testing": 7 days), and
    `consented_at` when the first consent stored it; both None when unknown (e.g. older stores).
    """

    access_token: str
    refresh_token: str
    expires_at: float
    user_id: str = "-"
    refresh_token_expires_at: float | None = None
    consented_at: float | None = None

    def is_fresh(self, margin_seconds: float = 300) -> bool:
        return time.time() < self.expires_at - margin_seconds

    def __repr__(self) -> str:  # tokens never reach logs or tracebacks
        return f"TokenSet(user_id={self.user_id!r}, expires_at={self.expires_at:.0f}, tokens=***)"


def registered(tokens: TokenSet | None, store: TokenStore) -> TokenSet | None:
    """`tokens`, each handed to the one redaction point (pipelines.common.redaction) first: every store calls this
    on what it reads and what it writes, so a token is masked wherever it shows up next (an error message, a log
    line, the ledger), in any escaped form, even when it never came from dlt's configuration."""
    if tokens is not None:
        redaction.register_secret(tokens.access_token, f"{store!r} access_token")
        redaction.register_secret(tokens.refresh_token, f"{store!r} refresh_token")
    return tokens


class TokenStoreBusy(SourceError):
    """Another run holds the refresh lock for longer than we are willing to wait."""


class TokenStore(ABC):
    """Persists one TokenSet. `locked()` serialises refreshes across processes (and, for shared stores, machines).

    Implementations: LocalFileTokenStore (dev, one machine) and SecretManagerTokenStore
    (tokens/secret_manager.py, prod): read = access the latest version, write =
    add a version then disable the older ones, locked = a lease held in the secret's annotations and
    taken with an etag precondition. `open_token_store()` picks one from configuration.
    """

    @abstractmethod
    def read(self) -> TokenSet | None: ...

    @abstractmethod
    def write(self, tokens: TokenSet) -> None:
        """Durable before it returns: a crash right after must not lose the new refresh token."""

    @abstractmethod
    @contextmanager
    def locked(self, timeout_seconds: float) -> Iterator[None]: ...


def fresh_tokens(store: TokenStore, refresh: Callable[[str], TokenSet], timeout_seconds: float = 60,
                 rejected_access_token: str | None = None) -> TokenSet:
    """A usable access token, refreshing at most once across concurrent runs.

    Under the lock: re-read (another run may have just refreshed), refresh only if still stale,
    and persist the new pair before returning, so nothing that happens next can lose it.
    `rejected_access_token` is one the API has just refused (401 mid-run): it counts as stale even
    if its expiry says otherwise, unless another run has already replaced it.
    """

    def usable(tokens: TokenSet | None) -> bool:
        return tokens is not None and tokens.is_fresh() and tokens.access_token != rejected_access_token

    current = store.read()
    if usable(current):
        return current
    with store.locked(timeout_seconds):
        current = store.read()
        if current is None:
            raise SourceError(f"no tokens stored in {store!r} yet: run python -m pipelines.fitbit.authorize once "
                              f"to store the first consent's refresh token")
        if usable(current):
            return current
        new = refresh(current.refresh_token)
        store.write(new)
        return new

"""Where rotating OAuth tokens live (Fitbit refresh tokens work once): an interface and a local-file store."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.common.http import SourceError


@dataclass(frozen=True)
class TokenSet:
    """An access token, the single-use refresh token that replaces it, and when the access token expires."""

    access_token: str
    refresh_token: str
    expires_at: float
    user_id: str = "-"

    def is_fresh(self, margin_seconds: float = 300) -> bool:
        return time.time() < self.expires_at - margin_seconds

    def __repr__(self) -> str:  # tokens never reach logs or tracebacks
        return f"TokenSet(user_id={self.user_id!r}, expires_at={self.expires_at:.0f}, tokens=***)"


class TokenStoreBusy(SourceError):
    """Another run holds the refresh lock for longer than we are willing to wait."""


class TokenStore(ABC):
    """Persists one TokenSet. `locked()` serialises refreshes across processes (and, for shared stores, machines).

    Implementations: LocalFileTokenStore (dev, one machine) and SecretManagerTokenStore
    (pipelines/common/secret_manager_token_store.py, prod): read = access the latest version, write =
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


class LocalFileTokenStore(TokenStore):
    """A JSON file (mode 0600) replaced atomically; an flock on `<file>.lock` lets one refresher in at a time."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()

    def __repr__(self) -> str:
        return f"LocalFileTokenStore({str(self.path)!r})"

    def read(self) -> TokenSet | None:
        try:
            return TokenSet(**json.loads(self.path.read_text()))
        except FileNotFoundError:
            return None

    def write(self, tokens: TokenSet) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                os.fchmod(f.fileno(), 0o600)
                json.dump(asdict(tokens), f)
                f.flush()
                os.fsync(f.fileno())
            # rename is atomic: a reader sees the old file or the new one, never half of either
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # make the rename itself survive a power cut
        finally:
            os.close(dir_fd)

    @contextmanager
    def locked(self, timeout_seconds: float) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            deadline = time.monotonic() + timeout_seconds
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TokenStoreBusy(f"another run is refreshing the token in {self.path}; "
                                             f"gave up after {timeout_seconds:.0f} s") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


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
            raise SourceError(f"no tokens stored in {store!r} yet: run scripts/fitbit_authorize.py once "
                              f"to store the first token pair")
        if usable(current):
            return current
        new = refresh(current.refresh_token)
        store.write(new)
        return new


GSM_SCHEME = "gsm://"


def open_token_store(location: str | None, default_path: str | Path) -> TokenStore:
    """The store a setting names: empty -> the local file `default_path`; `gsm://projects/<p>/secrets/<s>`
    -> that Google Secret Manager secret; `file://<path>` or a bare path -> that local file."""
    location = (location or "").strip()
    if not location:
        return LocalFileTokenStore(default_path)
    if location.startswith(GSM_SCHEME):
        from pipelines.common.secret_manager_token_store import SecretManagerTokenStore

        return SecretManagerTokenStore(location.removeprefix(GSM_SCHEME))
    return LocalFileTokenStore(location.removeprefix("file://"))

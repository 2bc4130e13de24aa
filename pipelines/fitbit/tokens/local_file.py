"""A token store in one local file: atomic replace, an flock across processes (dev, one machine)."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from pipelines.fitbit.tokens.base import TokenSet, TokenStore, TokenStoreBusy, registered


class LocalFileTokenStore(TokenStore):
    """A JSON file (mode 0600) replaced atomically; an flock on `<file>.lock` lets one refresher in at a time."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()

    def __repr__(self) -> str:
        return f"LocalFileTokenStore({str(self.path)!r})"

    def read(self) -> TokenSet | None:
        try:
            return registered(TokenSet(**json.loads(self.path.read_text())), self)
        except FileNotFoundError:
            return None

    def write(self, tokens: TokenSet) -> None:
        registered(tokens, self)
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

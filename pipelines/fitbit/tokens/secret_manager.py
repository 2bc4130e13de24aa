"""The token store for scheduled runs: one Google Secret Manager secret holds the Fitbit token pair.

- read: access the `latest` version.
- write: add a new version; only once that has succeeded, disable the versions it replaces and
  destroy the ones disabled before (at most two versions stay active: the current pair and the
  one it replaced, kept disabled for one rotation as a manual recovery point). Secret Manager
  bills active (enabled or disabled) versions beyond 6 a month, so a daily rotation must not pile
  them up.
- locked: a lease written into the secret's annotations (`lease-holder`, `lease-expires`) with the
  secret's etag as precondition, so of two runs that read the same etag only one can take it. An
  expired lease (a run that died holding it) can be taken; the holder releases it on exit.

Every client call carries a timeout and a bounded retry. Token values never reach a repr, a log
line or an exception message: only secret and version names do.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from google.api_core import exceptions as gexc

from pipelines.common import secret_manager
from pipelines.common.errors import SourceError
from pipelines.fitbit.tokens import TokenSet, TokenStore, TokenStoreBusy
from pipelines.fitbit.tokens.base import registered

log = logging.getLogger(__name__)

SECRET_NAME = re.compile(r"^projects/[^/]+/secrets/[A-Za-z0-9_-]{1,255}$")
LEASE_HOLDER = "lease-holder"
LEASE_EXPIRES = "lease-expires"


class SecretManagerTokenStore(TokenStore):
    """A TokenSet as JSON in the secret `projects/<project>/secrets/<secret>` (which must exist)."""

    def __init__(self, secret: str, client: Any = None, *, timeout_seconds: float = 30.0,
                 lease_seconds: float = 300.0, poll_seconds: float = 1.0,
                 clock: Callable[[], float] = time.time):
        if not SECRET_NAME.match(secret):
            raise SourceError(f"token store secret must look like projects/<project>/secrets/<name>, got {secret!r}")
        self.secret = secret
        self._client = client
        self.timeout_seconds = timeout_seconds
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.clock = clock
        # who holds the lease, readable in the console: runner host, process, and the Actions run if any
        run = os.environ.get("GITHUB_RUN_ID")
        self.holder = f"{socket.gethostname()[:40]}:{os.getpid()}{f':run-{run}' if run else ''}:{uuid.uuid4().hex[:8]}"

    def __repr__(self) -> str:
        return f"SecretManagerTokenStore({self.secret!r})"

    @property
    def client(self) -> Any:
        if self._client is None:  # built on first use: constructing a store touches nothing
            self._client = secret_manager.make_client()
        return self._client

    def _call(self, method: Callable, **kwargs: Any) -> Any:
        return secret_manager.call(method, self.timeout_seconds, **kwargs)

    # --- read / write -------------------------------------------------------------------------

    def read(self) -> TokenSet | None:
        try:
            response = self._call(self.client.access_secret_version, request={"name": f"{self.secret}/versions/latest"})
        except gexc.NotFound:  # no version yet (or no secret: then the write below says so)
            return None
        except (gexc.GoogleAPICallError, gexc.RetryError) as exc:
            raise SourceError(f"could not read {self.secret}/versions/latest: {_describe(exc)} "
                              f"(needs roles/secretmanager.secretAccessor; a disabled latest version cannot "
                              f"be read)") from None
        data = response.payload.data
        if "data_crc32c" in response.payload:
            import google_crc32c

            if google_crc32c.value(data) != response.payload.data_crc32c:
                raise SourceError(f"{response.name}: the payload failed its CRC32C check (corrupted in transit)")
        try:
            return registered(TokenSet(**json.loads(data)), self)
        except (ValueError, TypeError):
            raise SourceError(f"{response.name} does not hold a token pair written by this store") from None

    def write(self, tokens: TokenSet) -> None:
        import google_crc32c

        registered(tokens, self)
        data = json.dumps(asdict(tokens)).encode()
        try:
            added = self._call(self.client.add_secret_version,
                               request={"parent": self.secret,
                                        "payload": {"data": data, "data_crc32c": google_crc32c.value(data)}})
        except gexc.NotFound:
            raise SourceError(f"secret {self.secret} does not exist: create it first (README: Deploy to BigQuery)") \
                from None
        except (gexc.GoogleAPICallError, gexc.RetryError) as exc:
            raise SourceError(f"could not add a version to {self.secret}: {_describe(exc)}") from None
        # the new pair is durable now; retiring the old versions is housekeeping that may fail safely
        try:
            self._retire_versions_before(added.name)
        except (gexc.GoogleAPICallError, gexc.RetryError) as exc:
            log.warning("token store %s: added %s but could not retire older versions (%s); they stay active "
                        "until the next rotation", self.secret, added.name, _describe(exc))

    def _retire_versions_before(self, current: str) -> None:
        # only versions older than ours: never touch one another writer may have added since
        versions = [v for v in self._call(self.client.list_secret_versions,
                                          request={"parent": self.secret,
                                                   "filter": "state:ENABLED OR state:DISABLED"})
                    if _version_number(v.name) < _version_number(current)]
        newest_first = sorted(versions, key=lambda v: _version_number(v.name), reverse=True)
        for index, version in enumerate(newest_first):
            state = version.state.name
            if index == 0 and state == "ENABLED":  # the pair just replaced: disabled, kept for one rotation
                self._call(self.client.disable_secret_version, request={"name": version.name, "etag": version.etag})
                log.info("token store %s: disabled %s", self.secret, version.name)
            elif index == 0:
                continue
            else:  # replaced before that: nothing reads it any more
                self._call(self.client.destroy_secret_version, request={"name": version.name, "etag": version.etag})
                log.info("token store %s: destroyed %s", self.secret, version.name)

    # --- the lease ----------------------------------------------------------------------------

    @contextmanager
    def locked(self, timeout_seconds: float) -> Iterator[None]:
        self._acquire(timeout_seconds)
        try:
            yield
        finally:
            self._release()

    def _acquire(self, timeout_seconds: float) -> None:
        deadline = time.monotonic() + timeout_seconds
        while True:
            secret = self._get_secret()
            annotations = dict(secret.annotations)
            holder = annotations.get(LEASE_HOLDER)
            expires = _float(annotations.get(LEASE_EXPIRES))
            now = self.clock()
            if not holder or expires <= now or holder == self.holder:
                if holder and holder != self.holder:
                    log.warning("token store %s: taking over the lease %s let expire", self.secret, holder)
                annotations.update({LEASE_HOLDER: self.holder, LEASE_EXPIRES: f"{now + self.lease_seconds:.0f}"})
                if self._update_annotations(secret, annotations):
                    return
                continue  # another run changed the secret between our read and our write: look again
            if time.monotonic() >= deadline:
                raise TokenStoreBusy(f"another run ({holder}) holds the token lease on {self.secret} until "
                                     f"{time.strftime('%H:%M:%S', time.gmtime(expires))} UTC; gave up after "
                                     f"{timeout_seconds:.0f} s")
            time.sleep(min(self.poll_seconds, max(0.0, deadline - time.monotonic())))

    def _release(self) -> None:
        try:
            for _ in range(3):
                secret = self._get_secret()
                annotations = dict(secret.annotations)
                if annotations.get(LEASE_HOLDER) != self.holder:
                    return  # it expired and someone else took it: theirs now
                annotations.pop(LEASE_HOLDER, None)
                annotations.pop(LEASE_EXPIRES, None)
                if self._update_annotations(secret, annotations):
                    return
        except (gexc.GoogleAPICallError, gexc.RetryError) as exc:
            # not fatal: the lease expires by itself after lease_seconds
            log.warning("token store %s: could not release the lease (%s); it expires in %.0f s",
                        self.secret, _describe(exc), self.lease_seconds)

    def _get_secret(self) -> Any:
        try:
            return self._call(self.client.get_secret, request={"name": self.secret})
        except gexc.NotFound:
            raise SourceError(f"secret {self.secret} does not exist: create it first (README: Deploy to BigQuery)") \
                from None
        except gexc.PermissionDenied:
            raise SourceError(f"not allowed to read {self.secret}'s metadata for the refresh lease: grant the "
                              f"token-store role on that secret (README: Deploy to BigQuery)") from None

    def _update_annotations(self, secret: Any, annotations: dict[str, str]) -> bool:
        """True when written; False when the etag no longer matches (someone else wrote in between)."""
        try:
            self._call(self.client.update_secret,
                       request={"secret": {"name": self.secret, "etag": secret.etag, "annotations": annotations},
                                "update_mask": {"paths": ["annotations"]}})
            return True
        except (gexc.FailedPrecondition, gexc.Aborted, gexc.Conflict):
            return False
        except gexc.PermissionDenied:
            raise SourceError(f"not allowed to update {self.secret}'s annotations for the refresh lease: grant "
                              f"the token-store role on that secret (README: Deploy to BigQuery)") from None


def _describe(exc: Exception) -> str:
    """The error's type and HTTP code: enough to act on, and never anything from a payload."""
    code = getattr(exc, "code", None)
    return f"{type(exc).__name__}{f' (HTTP {code})' if code else ''}"


def _version_number(name: str) -> int:
    tail = name.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def _float(value: str | None) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0

"""Per-endpoint request counts, a sliding-window rate limit and fault injection for the API replicas."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field


@dataclass
class RateLimit:
    """At most `max_requests` in any `window_seconds`; beyond that, 429 with a Retry-After."""

    max_requests: int
    window_seconds: float = 1.0
    _hits: deque = field(default_factory=deque, repr=False)

    def retry_after(self, now: float) -> int | None:
        """None when the request may pass (and is recorded), else whole seconds to wait."""
        while self._hits and now - self._hits[0] >= self.window_seconds:
            self._hits.popleft()
        if len(self._hits) < self.max_requests:
            self._hits.append(now)
            return None
        return max(1, math.ceil(self.window_seconds - (now - self._hits[0])))


class Traffic:
    """What a replica has been asked, and what it should refuse. Shared by every request handler."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.limits: dict[str, RateLimit] = {}
        self.faults: dict[str, deque[int]] = {}
        # faults of the answer itself (the app's middleware applies them): delay seconds, malformed body
        self.body_faults: dict[str, deque[tuple[float, bool]]] = {}

    def record(self, api: str, endpoint: str) -> None:
        with self._lock:
            self.counts[f"{api} {endpoint}"] += 1

    def count(self, api: str, endpoint_prefix: str = "") -> int:
        """Requests to `api` whose endpoint starts with the prefix, e.g. ('notion', 'POST /v1/data_sources')."""
        with self._lock:
            prefix = f"{api} {endpoint_prefix}"
            return sum(n for k, n in self.counts.items() if k.startswith(prefix))

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()

    def set_rate_limit(self, api: str, max_requests: int | None, window_seconds: float = 1.0) -> None:
        with self._lock:
            if max_requests is None:
                self.limits.pop(api, None)
            else:
                self.limits[api] = RateLimit(max_requests, window_seconds)

    def inject(self, api: str, statuses: list[int]) -> None:
        """The next requests to `api` fail with these statuses, in order (e.g. [429, 500, 200, 429]; 200 passes)."""
        with self._lock:
            self.faults.setdefault(api, deque()).extend(statuses)

    def inject_malformed(self, api: str, count: int = 1) -> None:
        """The next `count` answers of `api` carry a truncated (invalid) JSON body, status unchanged."""
        with self._lock:
            self.body_faults.setdefault(api, deque()).extend([(0.0, True)] * count)

    def inject_delay(self, api: str, seconds: float, count: int = 1) -> None:
        """The next `count` answers of `api` come `seconds` late (slow responses, read timeouts)."""
        with self._lock:
            self.body_faults.setdefault(api, deque()).extend([(float(seconds), False)] * count)

    def take_body_fault(self, api: str) -> tuple[float, bool]:
        """(delay seconds, malformed) for this answer of `api`; (0, False) when none is queued."""
        with self._lock:
            queue = self.body_faults.get(api)
            return queue.popleft() if queue else (0.0, False)

    def clear_faults(self, api: str | None = None) -> None:
        with self._lock:
            for faults in (self.faults, self.body_faults):
                if api is None:
                    faults.clear()
                else:
                    faults.pop(api, None)

    def pending_faults(self) -> dict[str, dict]:
        """What is still queued per API (for /_sandbox/config)."""
        with self._lock:
            apis = set(self.faults) | set(self.body_faults)
            return {api: {"statuses": list(self.faults.get(api, ())),
                          "malformed": sum(m for _, m in self.body_faults.get(api, ())),
                          "delays": [d for d, _ in self.body_faults.get(api, ()) if d]}
                    for api in sorted(apis)}

    def check(self, api: str) -> tuple[int, int] | None:
        """(status, retry_after) when this request must be refused, else None."""
        with self._lock:
            queue = self.faults.get(api)
            if queue:
                status = queue.popleft()
                if status >= 400:  # a 200 in the list lets that request through (faults spread over a run)
                    return status, 1
            limit = self.limits.get(api)
            if limit is not None:
                wait = limit.retry_after(time.monotonic())
                if wait is not None:
                    return 429, wait
            return None

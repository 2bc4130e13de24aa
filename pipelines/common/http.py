"""dlt REST clients that count their requests (and retried answers) per source."""

from __future__ import annotations

import threading
from collections import Counter

from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests.adapters import HTTPAdapter

_lock = threading.Lock()
_requests: Counter[str] = Counter()
_retried: Counter[str] = Counter()


def api_requests(source: str) -> tuple[int, int]:
    """(HTTP responses received, of which retryable 429/5xx) for `source` since the last reset."""
    with _lock:
        return _requests[source], _retried[source]


def reset_api_requests(source: str) -> None:
    with _lock:
        _requests.pop(source, None)
        _retried.pop(source, None)


class _CountingAdapter(HTTPAdapter):
    """Counts every attempt on the wire, retries included (dlt retries above the adapter)."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def send(self, request, *args, **kwargs):
        response = super().send(request, *args, **kwargs)
        with _lock:
            _requests[self.source] += 1
            if response.status_code == 429 or response.status_code >= 500:
                _retried[self.source] += 1
        return response


def counting_client(source: str, base_url: str, headers: dict[str, str],
                    paginator: BasePaginator | None = None, data_selector: str | None = None) -> RESTClient:
    """A dlt RESTClient (retries 429/5xx honouring Retry-After) whose every response is counted."""
    session = Client(raise_for_status=False).session
    adapter = _CountingAdapter(source)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return RESTClient(base_url=base_url, headers=headers, session=session, paginator=paginator,
                      data_selector=data_selector)

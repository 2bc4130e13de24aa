"""dlt REST clients that count their requests (and retried answers) per source, and explain their failures.

Every source builds its client with `counting_client`, so every source gets, without code of its own:
- retries of 429/5xx answers, read timeouts and dropped connections (dlt's Client: `[runtime] request_*`);
- fast failure when the API cannot be reached at all: `cannot connect to <host:port> (<base URL setting>)`
  after `HTTP_CONNECT_RETRIES` quick retries (default 2), instead of dlt's full backoff (33 s with the defaults);
- a malformed JSON body names the endpoint it came from (`MalformedResponse`, still a ValueError);
- `raise_for_status()` says status, reason phrase and endpoint (`HTTP 503 Service Unavailable from GET host/path`);
- header values with whitespace (a token pasted with its newline) refused before anything is sent, naming the
  setting; credentials in Authorization headers and key-like query parameters registered for redaction.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

import requests
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests.adapters import HTTPAdapter
from requests.exceptions import ChunkedEncodingError, ConnectTimeout, Timeout
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from pipelines.common import redaction
from pipelines.common.errors import SourceError

CONNECT_RETRIES_ENV = "HTTP_CONNECT_RETRIES"
DEFAULT_CONNECT_RETRIES = 2
CONNECT_BACKOFF_SECONDS = 0.25

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


# --- errors that say what happened and where -------------------------------------------------


class _ExplainedRequestError(SourceError):
    """A SourceError that is also the requests exception callers may catch (request/response attached)."""

    def __init__(self, message: str, request=None, response=None):
        super().__init__(message)
        self.request, self.response = request, response


class ApiUnreachable(_ExplainedRequestError, requests.exceptions.ConnectionError):
    """No connection could be made (refused, unknown host, connect timeout): not retried by dlt's backoff."""


class ApiTimeout(_ExplainedRequestError, requests.exceptions.ReadTimeout):
    """Connected, but no answer in time (still a ReadTimeout, so dlt retries it)."""


class MalformedResponse(SourceError, requests.exceptions.JSONDecodeError):
    """A body that is not the JSON it claims to be; names the endpoint (still a ValueError for callers)."""

    def __init__(self, message: str, decode_error: ValueError, response: requests.Response):
        msg, doc, pos = (getattr(decode_error, a, d) for a, d in (("msg", str(decode_error)), ("doc", ""), ("pos", 0)))
        requests.exceptions.JSONDecodeError.__init__(self, msg, doc, pos, response=response)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return SourceError, (self.message,)


def endpoint(request: requests.PreparedRequest | None, url: str | None = None) -> str:
    """'GET 127.0.0.1:8787/notion/v1/databases/abc': method, host and path; never the query (keys live there)."""
    method = getattr(request, "method", None) or "GET"
    parts = urlsplit(url or getattr(request, "url", "") or "")
    return f"{method} {parts.netloc}{parts.path}"


def endpoint_tail(request: requests.PreparedRequest | None, url: str | None = None) -> str:
    """The last two path segments ('databases/abc'): enough to tell whether a message already names the endpoint."""
    path = urlsplit(url or getattr(request, "url", "") or "").path.strip("/")
    return "/".join(path.split("/")[-2:])


def http_error_line(response: requests.Response) -> str:
    """'HTTP 503 Service Unavailable from POST host/path'."""
    reason = response.reason
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    if not reason:
        try:
            reason = HTTPStatus(response.status_code).phrase
        except ValueError:
            reason = "(no reason given)"
    return f"HTTP {response.status_code} {reason} from {endpoint(response.request, response.url)}"


class _ExplainedResponse(requests.Response):
    """A Response whose failures name the endpoint (set as the class of every response the adapter builds)."""

    def json(self, **kwargs):
        try:
            return super().json(**kwargs)
        except requests.exceptions.JSONDecodeError as exc:
            kind = self.headers.get("Content-Type", "no content type")
            raise MalformedResponse(
                f"malformed JSON from {endpoint(self.request, self.url)} (HTTP {self.status_code}, "
                f"{len(self.content)} bytes, {kind}): {getattr(exc, 'msg', exc)} at character "
                f"{getattr(exc, 'pos', '?')}", exc, self) from exc

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(http_error_line(self), response=self)


# --- the adapter every client sends through --------------------------------------------------


def connect_retries() -> int:
    """`HTTP_CONNECT_RETRIES`: quick retries of a connection that cannot be made (default 2)."""
    raw = os.environ.get(CONNECT_RETRIES_ENV, "").strip()
    return max(0, int(raw)) if raw else DEFAULT_CONNECT_RETRIES


class _CountingAdapter(HTTPAdapter):
    """Counts every attempt on the wire, retries included (dlt retries above the adapter), and explains failures."""

    def __init__(self, source: str, base_url: str, base_url_setting: str):
        retries = connect_retries()
        # read=False: a read timeout or dropped connection is re-raised as itself (dlt's retries handle those)
        super().__init__(max_retries=Retry(total=None, connect=retries, read=False, redirect=None, status=0, other=0,
                                           backoff_factor=CONNECT_BACKOFF_SECONDS, raise_on_status=False))
        self.source = source
        self.base_url = base_url
        self.base_url_setting = base_url_setting
        self.connect_retries = retries

    def send(self, request, *args, **kwargs):
        _register_credentials(request)
        _refuse_whitespace(self.source, request.headers, f"the request {endpoint(request)}")
        try:
            response = super().send(request, *args, **kwargs)
        except requests.exceptions.ConnectionError as exc:
            if not _could_not_connect(exc):
                raise  # connected, then dropped: dlt's retries handle it
            parts = urlsplit(request.url)
            reason = _connect_reason(exc)
            tries = f" after {self.connect_retries + 1} attempts" if self.connect_retries else ""
            raise ApiUnreachable(f"cannot connect to {parts.hostname}:{parts.port or _default_port(parts.scheme)} "
                                 f"({self.base_url_setting} = {self.base_url}){tries}: {reason}",
                                 request=request) from None
        except requests.exceptions.ReadTimeout as exc:
            timeout = kwargs.get("timeout") or (args[1] if len(args) > 1 else None)
            seconds = timeout[1] if isinstance(timeout, tuple) else timeout
            raise ApiTimeout(f"no answer from {endpoint(request)} within {seconds} s "
                             f"(request_timeout in [runtime]; {self.base_url_setting})", request=request) from exc
        response.__class__ = _ExplainedResponse
        with _lock:
            _requests[self.source] += 1
            if response.status_code == 429 or response.status_code >= 500:
                _retried[self.source] += 1
        return response


def _could_not_connect(exc: requests.exceptions.ConnectionError) -> bool:
    if isinstance(exc, ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


def _connect_reason(exc: requests.exceptions.ConnectionError) -> str:
    reason = exc.args[0] if exc.args else exc
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    text = str(reason)
    for known in ("Connection refused", "Name or service not known", "No route to host", "timed out",
                  "Temporary failure in name resolution", "Network is unreachable"):
        if known.lower() in text.lower():
            return known
    return text.split(": ", 1)[-1]


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


_PAGE_CURSOR_PARAMS = {"pagetoken", "nextpagetoken", "page_token", "start_cursor", "cursor", "after"}


def _register_credentials(request: requests.PreparedRequest) -> None:
    """Whatever credential goes on the wire is a secret, wherever it came from (config, token store, hook)."""
    for name, value in request.headers.items():
        if not isinstance(value, str):
            continue
        if name.lower() in ("authorization", "proxy-authorization") or redaction.secret_looking_name(name):
            scheme, _, credential = value.partition(" ")
            redaction.register_secret(value, None)
            if credential:
                redaction.register_secret(credential, None)
                if scheme.lower() == "basic":
                    _register_basic(credential)
    for key, value in parse_qsl(urlsplit(request.url or "").query):
        # page cursors (pageToken, start_cursor, after) are not credentials: registering one per page made
        # every page recompile the redaction pattern
        if redaction._SECRET_PARAM.search(key) and key.lower() not in _PAGE_CURSOR_PARAMS:
            redaction.register_secret(value, None)


def _register_basic(credential: str) -> None:
    import base64
    import binascii

    try:
        user_pass = base64.b64decode(credential.strip()).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return
    redaction.register_secret(user_pass, None)
    redaction.register_secret(user_pass.partition(":")[2], None)


def _refuse_whitespace(source: str, headers, where: str) -> None:
    """A header value with leading/trailing whitespace or a line break: refused, naming the setting it came from."""
    for name, value in (headers or {}).items():
        if not isinstance(value, str):
            continue
        scheme, _, credential = value.partition(" ")
        problem = redaction.whitespace_problem(credential if credential and scheme.lower() in ("bearer", "basic")
                                               else value)
        if problem is None:
            continue
        setting = redaction.secret_name(value)
        if setting:
            provider = redaction.provider_of(setting)
            origin = f" (set in {provider})" if provider else ""
            raise SourceError(f"{setting} has {problem}{origin}: remove it where the value is set "
                              f"(.dlt/secrets.toml, the environment or Secret Manager)")
        raise SourceError(f"the {name} header of {where} ({source}) has {problem}: check the token or key "
                          f"it is built from")


def counting_client(source: str, base_url: str, headers: dict[str, str],
                    paginator: BasePaginator | None = None, data_selector: str | None = None,
                    base_url_setting: str | None = None) -> RESTClient:
    """A dlt RESTClient (retries 429/5xx honouring Retry-After) whose every response is counted and explained.

    `base_url_setting` names where the base URL is configured, for the "cannot connect" line
    (default `sources.<source>.api_base_url`).
    """
    for value in (headers or {}).values():
        if isinstance(value, str):
            scheme, _, credential = value.partition(" ")
            if credential and scheme.lower() in ("bearer", "basic", "token"):
                redaction.register_secret(credential)
    _refuse_whitespace(source, headers, f"{source}'s client")
    # dlt retries these; connection failures are retried (briefly) by the adapter instead, then fail fast
    client = Client(raise_for_status=False, exceptions=(), retry_condition=_retry_transient)
    session = client.session
    adapter = _CountingAdapter(source, base_url, base_url_setting or f"sources.{source}.api_base_url")
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return RESTClient(base_url=base_url, headers=headers, session=session, paginator=paginator,
                      data_selector=data_selector)


def _retry_transient(response: requests.Response | None, exception: BaseException | None) -> bool:
    """dlt's default retry exceptions minus the ones that mean 'cannot connect at all'."""
    if exception is None or isinstance(exception, (ApiUnreachable, ConnectTimeout)):
        return False
    return isinstance(exception, (requests.exceptions.ConnectionError, Timeout, ChunkedEncodingError))

"""HTTP details of the Google Health API v4: paging the reconciled stream, the access token from the token
store (refreshed once when it dies mid-run), and every refusal turned into one line that says what to do."""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator

import orjson
import pyarrow as pa
import requests
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
from requests.auth import AuthBase

from pipelines.common.errors import SourceError
from pipelines.common.http import counting_client
from pipelines.fitbit.data_types import DataType
from pipelines.fitbit.oauth import gone_line, reauthorize_command, token_refresher
from pipelines.fitbit.settings import ALL_SOURCES, EXPORT_COMMAND
from pipelines.fitbit.tokens import TokenSet, TokenStore, fresh_tokens


class HealthApiClient:
    """Reads data points of one data type at a time, newest first, page by page.

    Paging goes through dlt's RESTClient with a JSONResponseCursorPaginator (the response's
    `nextPageToken` sent back as the `pageToken` query parameter), built by
    `pipelines.common.http.counting_client`. That gives, without code of our own: retries of 429 and
    5xx answers honouring Retry-After with exponential backoff (the API documents no Retry-After, so
    backoff matters; attempts and delays from [runtime] request_* in .dlt/config.toml), a request
    timeout, and a count of every request on the wire for the run report and the ledger. An empty page
    that still carries a token is followed (the API sends those), never taken as the end.

    Nothing touches the network until the first page is asked for: building the source stays cheap.
    """

    def __init__(self, base_url: str, client_id: str, client_secret: str, store: TokenStore,
                 seed_refresh_token: str | None, token_uri: str):
        self.base_url = base_url.rstrip("/")
        self.store = store
        self.store_location: str | None = None  # how the store was configured, for the re-authorise command
        self.seed_refresh_token = seed_refresh_token
        self.lock_timeout_seconds = 60.0
        self._credentials = (client_id, client_secret, token_uri)
        self._tokens: TokenSet | None = None
        self.auth = _GoogleBearer(self)
        self.client = counting_client("fitbit", self.base_url, {"Accept": "application/json"},
                                      paginator=JSONResponseCursorPaginator(cursor_path="nextPageToken",
                                                                            cursor_param="pageToken"),
                                      data_selector="dataPoints")
        self.client.session.send = self._refuse_errors(self.client.session.send)

    def _refuse_errors(self, retrying_send):
        """Whatever is still an error once the retries are done becomes one line here, before RESTClient reads
        the body (a 410 from api.fitbit.com or a gateway's 502 page is not JSON)."""

        def send(request: requests.PreparedRequest, **kwargs) -> requests.Response:
            response = retrying_send(request, **kwargs)
            if response.status_code >= 400:
                raise api_error(response, _data_type_of(response.url), self.store_location)
            return response

        return send

    # --- tokens ------------------------------------------------------------------------------

    def refresh(self, refresh_token: str) -> TokenSet:
        client_id, client_secret, token_uri = self._credentials
        return token_refresher(client_id, client_secret, token_uri, self.store, self.store_location)(refresh_token)

    @property
    def tokens(self) -> TokenSet:
        if self._tokens is None:
            if self.seed_refresh_token and self.store.read() is None:
                with self.store.locked(self.lock_timeout_seconds):
                    if self.store.read() is None:
                        # the first consent's refresh token from configuration, until the store holds one
                        self.store.write(TokenSet("", self.seed_refresh_token, 0.0))
            self._tokens = fresh_tokens(self.store, self.refresh, self.lock_timeout_seconds)
        return self._tokens

    def refresh_after_401(self, rejected_access_token: str) -> str:
        """A new access token after the API refused this one (expired or revoked mid-run), saved before use."""
        self._tokens = fresh_tokens(self.store, self.refresh, self.lock_timeout_seconds,
                                    rejected_access_token=rejected_access_token)
        return self._tokens.access_token

    # --- data points -------------------------------------------------------------------------

    def pages(self, data_type: DataType, filter_expression: str) -> Iterator[list[dict]]:
        """Every page of the reconciled stream (`dataPoints:reconcile`) of `data_type` matching the filter.

        Reconcile merges what several sources (watch, phone, apps) recorded into one stream, so an
        interval the phone and the watch both counted is there once; `dataSourceFamily` all-sources
        is its documented default, sent explicitly except for sleep (the API rejects the parameter there).
        """
        params: dict[str, str | int] = {"filter": filter_expression, "pageSize": data_type.page_size}
        if data_type.source_family:
            params["dataSourceFamily"] = ALL_SOURCES
        path = f"users/me/dataTypes/{data_type.kebab}/dataPoints:reconcile"
        # our own response hook replaces RESTClient's raise_for_status one: 429/5xx must reach the retries;
        # what is still an error after them is refused in `_refuse_errors`
        for page in self.client.paginate(path, params=params, auth=self.auth, hooks={"response": [_parse_once]}):
            yield _take_points(page)

    def tables(self, data_type: DataType, filter_expression: str) -> Iterator[tuple[pa.Table, list[tuple[dict, str]]]]:
        """`pages`, each as `data_type.to_arrow` makes it: (an Arrow table, [(point, reason) for rejected points]).

        A page is fetched, parsed and converted with Python's cyclic garbage collector paused, and its points are
        freed before it resumes. A heart-rate page parses into about 80,000 dicts that live only until the
        conversion: with the collector on, every page was promoted to the old generation and set off full
        collections of the whole heap. JSON has no reference cycles, so pausing loses nothing. Measured in
        `make demo` (30 days of heart rate, 100 pages): 29 full collections and 4.4 s of the load's 9 s.
        """
        pages = self.pages(data_type, filter_expression)
        while True:
            with _cyclic_gc_paused():
                points = next(pages, None)
                if points is None:
                    return
                converted = data_type.to_arrow(points)
                del points  # the page's last reference: its dicts are freed here, never scanned
            yield converted


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, back on after it (if it was on before); reference
    counting still frees everything that is not in a cycle."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _take_points(page: list) -> list[dict]:
    """The page's points, moved out of the page and out of its parsed body (which dlt's paginator keeps until the
    next page): once the caller drops them, nothing else holds them."""
    points = list(page)
    page.clear()
    body = None
    with contextlib.suppress(ValueError):  # a body that is not JSON holds no points
        body = page.response.json()
    if isinstance(body, dict) and isinstance(body.get("dataPoints"), list):
        body["dataPoints"].clear()
    return points


def _parse_once(response: requests.Response, *args, **kwargs) -> requests.Response:
    """Parse a page's JSON once, with orjson (a dlt dependency): RESTClient reads the body twice per page (the points,
    then the cursor), and a heart-rate page is 10,000 points."""
    if response.status_code < 400 and response.content:
        body = orjson.loads(response.content)
        response.json = lambda **_: body  # type: ignore[method-assign]
    return response


class _GoogleBearer(AuthBase):
    """Adds the current access token when a request is sent; a 401 is answered once per request by a
    refresh through the token store (under its lock, saved before use) and the same request again.
    The token never sits in the client's default headers, which dlt logs at debug level."""

    def __init__(self, api: HealthApiClient):
        self.api = api

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.api.tokens.access_token}"
        request.register_hook("response", self._on_401)
        return request

    def _on_401(self, response: requests.Response, **kwargs) -> requests.Response:
        if response.status_code != 401 or getattr(response.request, "refreshed_after_401", False):
            return response
        rejected = response.request.headers.get("Authorization", "").removeprefix("Bearer ")
        new_token = self.api.refresh_after_401(rejected)
        print(f"[fitbit] the access token was refused mid-run (401 {_status(response)}): refreshed it through "
              f"the token store and sent the request again", file=sys.stderr)
        again = response.request.copy()
        again.headers["Authorization"] = f"Bearer {new_token}"
        again.refreshed_after_401 = True  # type: ignore[attr-defined]
        response.content  # noqa: B018 - read the refused answer so its connection is released
        retried = response.connection.send(again, **kwargs)
        retried.history.append(response)
        retried.request = again
        return retried

    def __repr__(self) -> str:
        return "_GoogleBearer(***)"


def _error_body(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body.get("error", {}) if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}


def _status(response: requests.Response) -> str:
    return str(_error_body(response).get("status") or response.reason or response.status_code)


def _reasons(error: dict) -> set[str]:
    return {str(d.get("reason")) for d in error.get("details") or [] if isinstance(d, dict) and d.get("reason")}


def _data_type_of(url: str) -> str:
    """The data type a request was for ('heart-rate'), from its URL; the path when it is not a data request."""
    path = url.split("?")[0]
    parts = path.split("/dataTypes/")
    return parts[1].split("/")[0] if len(parts) == 2 else path.rsplit("/", 1)[-1]


def api_error(response: requests.Response, kebab: str, store_location: str | None) -> SourceError:
    """One line for an answer that is still an error after the retries."""
    code = response.status_code
    error = _error_body(response)
    status = error.get("status") or response.reason
    message = str(error.get("message") or "").strip().splitlines()[0][:200] if error.get("message") else ""
    where = f"{kebab} ({response.request.method} {response.url.split('?')[0]})"
    if code == 410:
        return SourceError(gone_line(response.url))
    if code == 403:
        reasons = _reasons(error)
        if "SERVICE_DISABLED" in reasons or "has not been used in project" in message:
            return SourceError("the Google Health API is not enabled in the OAuth client's Cloud project (403 "
                               "SERVICE_DISABLED): enable it (gcloud services enable health.googleapis.com), then "
                               "run again")
        if "ACCESS_TOKEN_SCOPE_INSUFFICIENT" in reasons:
            return SourceError(f"the consent did not grant the scope {kebab} needs (403 "
                               f"ACCESS_TOKEN_SCOPE_INSUFFICIENT): consent again and allow every data type: "
                               f"{reauthorize_command(store_location)}")
        return SourceError(f"Google Health API refused access to {kebab} (403 {status or 'PERMISSION_DENIED'}"
                           f"{': ' + message if message else ''}): the Cloud project is most likely not onboarded "
                           f"(Google said in October 2026 it is not onboarding new projects); the Takeout export "
                           f"always works: {EXPORT_COMMAND}")
    if code == 401:
        return SourceError(f"Google refused the access token again right after a refresh (401 {status}): access "
                           f"was revoked or the scopes changed; re-authorise: {reauthorize_command(store_location)}")
    if code == 429 or code >= 500:
        return SourceError(f"Google Health API still answered {code} {status} for {where} after every retry "
                           f"(quota: 300 requests a minute per user, 2.5 a second for unverified apps): nothing "
                           f"was loaded and the next run starts from the same place")
    if code == 404 and not error:
        return SourceError(f"nothing at {where} (404, not an API answer): sources.fitbit.api_base_url should be "
                           f"https://health.googleapis.com/v4")
    return SourceError(f"Google Health API refused {where}: {code} {status}{': ' + message if message else ''}")

"""FastAPI replica of the Google Health API v4 (the successor of the Fitbit Web API) and Google's OAuth
endpoints, serving the synthetic person (sandbox/google_health_data.py).

What it reproduces (api-reference.md section 6 and the discovery document health.v4.json):
- `GET /v4/users/me/dataTypes/{kebab-type}/dataPoints` (each device's points, with `dataSource`) and
  `...:reconcile` (one merged stream, no `dataSource`, `dataPointName` instead of `name`);
  `GET /v4/users/me/identity`.
- kebab-case types in the path (`heartRate` is 400 INVALID_ARGUMENT), snake_case in filters.
- the AIP-160 subset the API accepts: `>=`, `<` and `AND` on each type's documented members (`OR` for
  sleep only), RFC 3339 literals for physical times, `YYYY-MM-DD[THH:mm:ss]` for civil ones; anything
  else is 400 INVALID_ARGUMENT with Google's error body.
- `pageSize` (default 1,440, at most 10,000; sleep and exercise 25, values above are truncated),
  an opaque `nextPageToken` tied to the query, newest first, short pages, and every n-th page empty but
  still carrying a token (knob `empty_page_every`).
- `dataSourceFamily` (`all-sources`, `google-wearables`, `google-sources`, `self-sources`, as the short
  name or `users/me/dataSourceFamilies/<name>`); rejected on the sleep list.
- int64 values as JSON strings, sleep and exercise without civil times, `name` only on identifiable types.
- 401 UNAUTHENTICATED for a missing/expired token, 403 PERMISSION_DENIED for a missing scope or a project
  Google has not onboarded (knob), 429 RESOURCE_EXHAUSTED with Retry-After and 5xx from `traffic`
  faults, an HTML 404 for unknown paths.
- the legacy Fitbit Web API under /fitbit: 410 Gone for every URL, OAuth included.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl, unquote_plus

import numpy as np
from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from sandbox.fitbit_data import FitbitHealth
from sandbox.google_health_data import (
    EPOCH,
    HEALTH_USER_ID,
    TYPES,
    GoogleHealthData,
    HeartRateDay,
    Point,
    TypeInfo,
)
from sandbox.google_health_oauth import GoogleOAuth
from sandbox.traffic import Traffic

API = "google_health"
FAMILIES = {"all-sources", "google-wearables", "google-sources", "self-sources"}
SCOPE_PREFIX = "https://www.googleapis.com/auth/googlehealth."
SCOPE_OF = {"heart-rate": "health_metrics_and_measurements", "weight": "health_metrics_and_measurements",
            "body-fat": "health_metrics_and_measurements", "daily-resting-heart-rate": "health_metrics_and_measurements",
            "daily-heart-rate-variability": "health_metrics_and_measurements",
            "daily-oxygen-saturation": "health_metrics_and_measurements", "steps": "activity_and_fitness",
            "exercise": "activity_and_fitness", "sleep": "sleep", "active-energy-burned": "activity_and_fitness",
            "basal-energy-burned": "activity_and_fitness", "active-minutes": "activity_and_fitness"}
SCAN_DAYS = 31  # days of storage one request scans before answering a short (or empty) page


@dataclass
class GoogleHealth:
    """Everything the replica serves and every knob on it."""

    data: GoogleHealthData
    oauth: GoogleOAuth
    onboarded: bool = True  # False: the Cloud project was not onboarded, every data call is 403
    retry_after_seconds: int | None = 1  # on injected 429s (Google documents none; None omits the header)
    requests: list[dict] = field(default_factory=list)  # every data request: method, data type, query (tests read it)

    @property
    def first_refresh_token(self) -> str:
        return next(iter(self.oauth.grants))


def build_google_health(health: FitbitHealth, client_id: str, client_secret: str) -> GoogleHealth:
    """The replica for `health`, with the refresh token the user's first consent left in the token store."""
    google = GoogleHealth(GoogleHealthData(health), GoogleOAuth(client_id, client_secret))
    google.oauth.issue_refresh_token(tuple(SCOPE_PREFIX + s + ".readonly" for s in sorted(set(SCOPE_OF.values()))))
    return google


def google_error(code: int, status: str, message: str, reason: str | None = None,
                 headers: dict | None = None) -> JSONResponse:
    """google.rpc.Status as the API answers it."""
    details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                "domain": "health.googleapis.com", "metadata": {"service": "health.googleapis.com"}}] if reason else []
    body = {"error": {"code": code, "message": message, "status": status, **({"details": details} if details else {})}}
    return JSONResponse(body, status_code=code, headers=headers)


def html_not_found(path: str) -> HTMLResponse:
    return HTMLResponse(f"<!DOCTYPE html><html lang=en><title>Error 404 (Not Found)!!1</title><p><b>404.</b> "
                        f"<ins>That's an error.</ins><p>The requested URL <code>{path}</code> was not found on this "
                        f"server. <ins>That's all we know.</ins>", status_code=404)


# --- filters (AIP-160, the subset the API accepts) ---------------------------------------------

_TERM = re.compile(r'^\s*([a-z_]+)\.([a-z_.]+)\s*(>=|<)\s*"([^"]*)"\s*$')
_CIVIL = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class FilterError(ValueError):
    pass


@dataclass(frozen=True)
class Term:
    member: str
    op: str
    value: datetime | date

    def matches(self, point: Point) -> bool:
        actual = point.members.get(self.member)
        if actual is None:
            return False
        return actual >= self.value if self.op == ">=" else actual < self.value


    def mask(self, hr: HeartRateDay) -> np.ndarray:
        if self.member == "sample_time.physical_time":
            values, bound = hr.utc_us, _epoch_micros(self.value)
        elif self.member == "sample_time.civil_time":
            values = hr.local_s + int((datetime.combine(hr.day, datetime.min.time()) - EPOCH).total_seconds())
            bound = _epoch_micros(self.value) // 1_000_000
        else:
            return np.zeros(len(hr), dtype=bool)
        return values >= bound if self.op == ">=" else values < bound


def _epoch_micros(value: datetime | date) -> int:
    if not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return round((naive - EPOCH).total_seconds() * 1_000_000)


@dataclass(frozen=True)
class Filter:
    """A conjunction of disjunctions of terms (AIP-160: OR binds tighter than AND)."""

    clauses: tuple[tuple[Term, ...], ...]

    def matches(self, point: Point) -> bool:
        return all(any(t.matches(point) for t in clause) for clause in self.clauses)

    def mask(self, hr: HeartRateDay) -> np.ndarray:
        """The same test, vectorised over a day of heart-rate samples."""
        keep = np.ones(len(hr), dtype=bool)
        for clause in self.clauses:
            keep &= np.logical_or.reduce([t.mask(hr) for t in clause])
        return keep

    def day_bounds(self) -> tuple[date | None, date | None]:
        """Local days that can hold a match (a day either side: instants are UTC, days are the person's)."""
        low = high = None
        for clause in self.clauses:
            if len(clause) != 1:
                continue
            term = clause[0]
            day = term.value.date() if isinstance(term.value, datetime) else term.value
            if term.op == ">=":
                low = max(low, day - timedelta(days=1)) if low else day - timedelta(days=1)
            else:
                high = min(high, day + timedelta(days=1)) if high else day + timedelta(days=1)
        return low, high


def parse_filter(info: TypeInfo, text: str) -> Filter:
    if not text.strip():
        return Filter(())
    clauses = []
    for conjunct in re.split(r"\s+AND\s+", text.strip()):
        parts = re.split(r"\s+OR\s+", conjunct)
        if len(parts) > 1 and info.kebab != "sleep":
            raise FilterError("OR is supported for sleep filters only")
        terms = []
        for part in parts:
            match = _TERM.match(part.strip("() "))
            if not match:
                raise FilterError(f"Unsupported filter expression: {part.strip()}")
            prefix, member, op, literal = match.groups()
            if prefix != info.snake:
                raise FilterError(f"Filter field {prefix}.{member} does not belong to data type {info.kebab}; "
                                  f"use {info.snake}.<field>")
            if member not in info.filter_members:
                raise FilterError(f"Unsupported filter field {prefix}.{member} for data type {info.kebab}. "
                                  f"Supported fields: {', '.join(info.snake + '.' + m for m in info.filter_members)}")
            terms.append(Term(member, op, _literal(member, literal)))
        clauses.append(tuple(terms))
    return Filter(tuple(clauses))


def _literal(member: str, literal: str) -> datetime | date:
    if member == "date":
        if not _DATE.match(literal):
            raise FilterError(f'Invalid date literal "{literal}": expected YYYY-MM-DD')
        return date.fromisoformat(literal)
    if "civil" in member:
        if not _CIVIL.match(literal):
            raise FilterError(f'Invalid civil time literal "{literal}": expected YYYY-MM-DD[THH:mm:ss]')
        return datetime.fromisoformat(literal if "T" in literal else literal + "T00:00:00")
    try:
        value = datetime.fromisoformat(literal.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(f'Invalid timestamp literal "{literal}": expected RFC 3339') from None
    if value.tzinfo is None or "T" not in literal:
        raise FilterError(f'Invalid timestamp literal "{literal}": expected RFC 3339 with a time zone offset')
    return value.astimezone(UTC)


# --- paging ----------------------------------------------------------------------------------------


def _query_hash(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def _encode_token(query: str, day_index: int, offset: int, page: int) -> str:
    raw = json.dumps({"q": query, "d": day_index, "o": offset, "n": page}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, query: str) -> tuple[int, int, int]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if state["q"] != query:
            raise ValueError
        return int(state["d"]), int(state["o"]), int(state["n"])
    except (ValueError, KeyError, TypeError):
        raise FilterError("Invalid page token: it does not belong to this query (the other parameters must match "
                          "the call that returned it)") from None


def _family_match(family: str, point: Point) -> bool:
    form = (point.source.get("device") or {}).get("formFactor")
    if family == "self-sources":
        return False  # this client wrote nothing
    if family == "google-wearables":
        return form in {"WATCH", "FITNESS_BAND", "RING", "SCALE", "CHEST_STRAP"} and \
            point.source.get("recordingMethod") != "MANUAL"
    return True  # all-sources, google-sources: every source here is first-party


def _reconcile(points: list[Point]) -> list[Point]:
    """One point per key: the wearable's when the phone reported the same interval."""
    seen, out = set(), []
    for point in sorted(points, key=lambda p: (p.key.split("#")[0], "#" in p.key)):
        key = point.key.split("#")[0]
        if key not in seen:
            seen.add(key)
            out.append(point)
    out.sort(key=lambda p: p.sort, reverse=True)
    return out


class _Points:
    """The matching points of one day, rendered only when they go on a page."""

    def __init__(self, data: GoogleHealthData, info: TypeInfo, points: list[Point], reconciled: bool):
        self.data, self.info, self.points, self.reconciled = data, info, points, reconciled

    def __len__(self) -> int:
        return len(self.points)

    def render(self, start: int, stop: int) -> list[str]:
        return [json.dumps(self.data.render(self.info, p, self.reconciled), separators=(",", ":"))
                for p in self.points[start:stop]]


class _HeartRate:
    """The matching samples of one day as indices into its arrays (one watch: list and reconcile agree)."""

    def __init__(self, data: GoogleHealthData, hr: HeartRateDay, index: np.ndarray):
        self.data, self.hr, self.index = data, hr, index

    def __len__(self) -> int:
        return len(self.index)

    def render(self, start: int, stop: int) -> list[str]:
        return self.data.render_heart_rate(self.hr, self.index[start:stop])


def _select(data: GoogleHealthData, info: TypeInfo, day: date, filt: Filter, family: str,
            reconciled: bool) -> _Points | _HeartRate:
    if info.kebab == "heart-rate":
        hr = data.heart_rate_day(day)
        mask = filt.mask(hr) & (family != "self-sources")
        return _HeartRate(data, hr, np.flatnonzero(mask))
    points = [p for p in data.day_points(info.kebab, day) if _family_match(family, p) and filt.matches(p)]
    return _Points(data, info, _reconcile(points) if reconciled else points, reconciled)


def serve_page(google: GoogleHealth, info: TypeInfo, params: dict[str, str], reconciled: bool) -> str:
    """One page of data points as JSON text, `{"dataPoints": [...], "nextPageToken": "..."}` (raises FilterError).
    Points are rendered as text one by one: a heart-rate page is 10,000 of them."""
    data = google.data
    filt = parse_filter(info, params.get("filter", ""))
    family_param = params.get("dataSourceFamily")
    family = "all-sources"
    if family_param:
        if info.kebab == "sleep" and not reconciled:
            raise FilterError("Filtering by data source family is not supported for sleep; use ReconcileDataPoints")
        family = family_param.rsplit("/", 1)[-1]
        if family not in FAMILIES or ("/" in family_param and not re.match(
                r"^users/[^/]+/dataSourceFamilies/[a-z-]+$", family_param)):
            raise FilterError(f"Invalid data source family: {family_param}")
    try:
        size = int(params.get("pageSize") or 0)
    except ValueError:
        raise FilterError(f"Invalid value at 'page_size' (TYPE_INT32), \"{params['pageSize']}\"") from None
    if size < 0:
        raise FilterError("page_size must not be negative")
    size = min(size or info.default_page_size, info.max_page_size)
    query = _query_hash(info.kebab, reconciled, params.get("filter", ""), family, size)
    day_index, offset, page_no = _decode_token(params["pageToken"], query) if params.get("pageToken") else (0, 0, 0)

    low, high = filt.day_bounds()
    days = [d for d in reversed(data.life_days) if (low is None or d >= low) and (high is None or d <= high)]
    every = data.knobs.empty_page_every
    if every and page_no % every == every - 1 and day_index < len(days):
        return json.dumps({"nextPageToken": _encode_token(query, day_index, offset, page_no + 1)})  # no empty list: proto3 JSON

    out: list[dict] = []
    scanned = 0
    while day_index < len(days) and len(out) < size and scanned < SCAN_DAYS:
        selection = _select(data, info, days[day_index], filt, family, reconciled)
        stop = min(len(selection), offset + size - len(out))
        out.extend(selection.render(offset, stop))
        if stop < len(selection):
            offset = stop
            break
        day_index, offset, scanned = day_index + 1, 0, scanned + 1
    members = ['"dataPoints":[' + ",".join(out) + "]"] if out else []
    if day_index < len(days):
        members.append(f'"nextPageToken":"{_encode_token(query, day_index, offset, page_no + 1)}"')
    return "{" + ",".join(members) + "}"


# --- the routers -----------------------------------------------------------------------------------


def build_router(google: GoogleHealth, traffic: Traffic) -> APIRouter:
    router = APIRouter()

    def guard(request: Request, endpoint: str, kebab: str | None = None) -> Response | None:
        traffic.record(API, endpoint)
        refused = traffic.check(API)
        if refused:
            status, _ = refused
            if status == 429:
                wait = google.retry_after_seconds
                return google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Read requests' and "
                                    "limit 'Read requests per minute per user' of service 'health.googleapis.com'.",
                                    "RATE_LIMIT_EXCEEDED", headers={"Retry-After": str(wait)} if wait is not None
                                    else None)
            if status == 503:
                return google_error(503, "UNAVAILABLE", "The service is currently unavailable.")
            return google_error(status, "INTERNAL", "Internal error encountered.")
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        problem, scopes = google.oauth.check_access_token(token)
        if problem:
            return google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected "
                                "OAuth 2 access token, login cookie or other valid authentication credential.",
                                problem)
        if not google.onboarded:
            # [unverified] the body Google sends a project it has not onboarded is unpublished: the generic one
            return google_error(403, "PERMISSION_DENIED", "The caller does not have permission")
        if kebab and SCOPE_PREFIX + SCOPE_OF[kebab] + ".readonly" not in scopes:
            return google_error(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.",
                                "ACCESS_TOKEN_SCOPE_INSUFFICIENT")
        return None

    def data_points(user: str, data_type: str, request: Request, reconciled: bool) -> Response:
        method = "dataPoints:reconcile" if reconciled else "dataPoints"
        info = TYPES.get(data_type)
        if info is None:
            traffic.record(API, f"GET /v4/users/dataTypes/{data_type}/{method}")
            return google_error(400, "INVALID_ARGUMENT", f"Invalid data type collection: users/{user}/dataTypes/"
                                f"{data_type}. Use the kebab-case data type name, e.g. heart-rate.",
                                "INVALID_PARENT_DATA_TYPE_COLLECTION")
        google.requests.append({"method": method, "data_type": data_type, "params": dict(request.query_params)})
        if (refused := guard(request, f"GET /v4/users/dataTypes/{data_type}/{method}", data_type)) is not None:
            return refused
        if user not in ("me", HEALTH_USER_ID):
            return google_error(403, "PERMISSION_DENIED", "The caller does not have permission")
        try:
            page = serve_page(google, info, dict(request.query_params), reconciled)
        except FilterError as exc:
            return google_error(400, "INVALID_ARGUMENT", str(exc), "INVALID_ARGUMENT")
        return Response(page, media_type="application/json")

    @router.get("/google/health/v4/users/{user}/dataTypes/{data_type}/dataPoints:reconcile")
    def reconcile(user: str, data_type: str, request: Request):
        return data_points(user, data_type, request, reconciled=True)

    @router.get("/google/health/v4/users/{user}/dataTypes/{data_type}/dataPoints")
    def list_points(user: str, data_type: str, request: Request):
        return data_points(user, data_type, request, reconciled=False)

    @router.get("/google/health/v4/users/{user}/identity")
    def identity(user: str, request: Request):
        if (refused := guard(request, "GET /v4/users/identity")) is not None:
            return refused
        return {"name": f"users/{user}/identity", "healthUserId": HEALTH_USER_ID, "legacyUserId": "SANDBX"}

    @router.api_route("/google/health/{rest:path}", methods=["GET", "POST", "PATCH", "DELETE"])
    def unknown(rest: str):
        return html_not_found(f"/{rest}")

    # --- Google OAuth ---

    @router.get("/google/oauth2/auth")
    def consent(request: Request):
        traffic.record(API, "GET /oauth2/auth")
        status, where = google.oauth.consent(dict(request.query_params))
        if status == 302:
            return RedirectResponse(where, status_code=302)
        return HTMLResponse(f"<html><body><h1>{where}</h1></body></html>", status_code=status)

    @router.post("/google/oauth2/token")
    async def token(request: Request):
        traffic.record(API, "POST /oauth2/token")
        form = dict(parse_qsl((await request.body()).decode()))
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):  # RFC 6749 client authentication: HTTP Basic or the form, Google takes both
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
            form.setdefault("client_id", unquote_plus(client_id))
            form.setdefault("client_secret", unquote_plus(client_secret))
        status, body = google.oauth.token(form)
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    # --- knobs for tests and demos ---

    @router.get("/_sandbox/google_health/config")
    def config(request: Request):
        """What the fitbit pipeline needs to point at this replica (sandbox-only placeholder credentials)."""
        base = str(request.base_url).rstrip("/")
        return {"notice": "synthetic data: a generated person, not a real account",
                "SOURCES__FITBIT__API_BASE_URL": f"{base}/google/health/v4",
                "SOURCES__FITBIT__TOKEN_URI": f"{base}/google/oauth2/token",
                "SOURCES__FITBIT__AUTH_URI": f"{base}/google/oauth2/auth",
                "SOURCES__FITBIT__CLIENT_ID": google.oauth.client_id,
                "SOURCES__FITBIT__CLIENT_SECRET": google.oauth.client_secret,
                "SOURCES__FITBIT__REFRESH_TOKEN": google.first_refresh_token}

    @router.post("/_sandbox/google_health/delete")
    def delete_point(data_type: str = Body(..., embed=True), key: str = Body(..., embed=True)):
        google.data.delete(data_type, key)
        return {"ok": True}

    @router.post("/_sandbox/google_health/late")
    def late(day: date = Body(..., embed=True), days_late: int = Body(2, embed=True)):
        google.data.arrive_late(day, days_late)
        return {"ok": True, "today": google.data.knobs.today}

    @router.post("/_sandbox/google_health/today")
    def set_today(today: date | None = Body(None, embed=True)):
        google.data.set_today(today)
        return {"ok": True}

    @router.post("/_sandbox/google_health/revoke")
    def revoke():
        google.oauth.revoke_refresh_tokens()
        return {"ok": True}

    @router.post("/_sandbox/google_health/pass_days")
    def pass_days(days: float = Body(..., embed=True)):
        google.oauth.pass_days(days)
        return {"ok": True}

    @router.post("/_sandbox/google_health/onboarded")
    def onboarded(value: bool = Body(..., embed=True)):
        google.onboarded = value
        return {"ok": True}

    return router


def legacy_fitbit_router(traffic: Traffic) -> APIRouter:
    """The legacy Fitbit Web API (api.fitbit.com), switched off on 2026-11-02: 410 Gone for everything."""
    router = APIRouter()

    @router.api_route("/fitbit/{rest:path}", methods=["GET", "POST"])
    def gone(rest: str):
        traffic.record("fitbit", f"GONE /{rest.split('/')[0]}")
        return Response(f"410 Gone. The Fitbit Web API was turned down; request id {uuid.uuid4().hex[:12]}.",
                        status_code=410, media_type="text/plain")

    return router

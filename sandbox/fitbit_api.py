"""FastAPI router replicating the legacy Fitbit Web API: single-use refresh tokens, range limits, 150 requests/hour."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse

from sandbox.fitbit_data import FitbitHealth
from sandbox.traffic import Traffic

ACCESS_TOKEN_SECONDS = 28_800
AUTHORIZATION_CODE_SECONDS = 600
RANGE_LIMITS = {"sleep": 100, "steps": 1095, "heart": 366, "weight": 31}


@dataclass
class FitbitAuth:
    """Live OAuth state: each refresh token works once; access tokens expire."""

    client_id: str
    client_secret: str
    refresh_tokens: set[str] = field(default_factory=set)
    access_tokens: dict[str, float] = field(default_factory=dict)
    access_token_seconds: int = ACCESS_TOKEN_SECONDS
    # authorization codes from /oauth2/authorize: code -> (PKCE challenge, redirect_uri, expires at); single use
    codes: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    # tests: after this many more API requests every access token issued so far expires (None: never)
    expire_after_requests: int | None = None
    rate_limit: int = 150
    window_seconds: float = 3600.0
    window_started: float | None = None
    used: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def issue_refresh_token(self) -> str:
        token = secrets.token_hex(32)
        self.refresh_tokens.add(token)
        return token

    def issue_pair(self) -> dict:
        """A new access token and single-use refresh token, as the token endpoint answers (caller holds the lock)."""
        access = secrets.token_hex(24)
        self.access_tokens[access] = time.time() + self.access_token_seconds
        return {"access_token": access, "expires_in": self.access_token_seconds,
                "refresh_token": self.issue_refresh_token(), "scope": "sleep activity heartrate weight profile",
                "token_type": "Bearer", "user_id": "SANDBX"}

    def expire_access_tokens(self, after_requests: int = 0) -> None:
        """Every access token issued so far expires once `after_requests` more API requests have been served."""
        with self.lock:
            self.expire_after_requests = after_requests

    def _count_towards_expiry(self) -> None:  # caller holds the lock
        if self.expire_after_requests is None:
            return
        if self.expire_after_requests <= 0:
            for token in self.access_tokens:
                self.access_tokens[token] = 0.0
            self.expire_after_requests = None
        else:
            self.expire_after_requests -= 1


def fitbit_error(status: int, error_type: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"errors": [{"errorType": error_type, "message": message}], "success": False},
                        status_code=status, headers=headers)


def build_router(health: FitbitHealth, auth: FitbitAuth, traffic: Traffic) -> APIRouter:
    router = APIRouter()

    def budget_headers() -> dict[str, str]:
        now = time.monotonic()
        if auth.window_started is None or now - auth.window_started >= auth.window_seconds:
            auth.window_started, auth.used = now, 0
        reset = int(auth.window_seconds - (now - auth.window_started)) + 1
        return {"Fitbit-Rate-Limit-Limit": str(auth.rate_limit),
                "Fitbit-Rate-Limit-Remaining": str(max(0, auth.rate_limit - auth.used)),
                "Fitbit-Rate-Limit-Reset": str(reset)}

    def guard(request: Request, endpoint: str) -> tuple[JSONResponse | None, dict[str, str]]:
        traffic.record("fitbit", endpoint)
        with auth.lock:
            headers = budget_headers()
            if auth.used >= auth.rate_limit:
                return fitbit_error(429, "system", "Too Many Requests",
                                    headers={**headers, "Retry-After": headers["Fitbit-Rate-Limit-Reset"]}), headers
            auth.used += 1
            headers = {**headers, "Fitbit-Rate-Limit-Remaining": str(auth.rate_limit - auth.used)}
            auth._count_towards_expiry()
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            expires = auth.access_tokens.get(token)
        if expires is None:
            return fitbit_error(401, "invalid_token", "Access token invalid", headers), headers
        if time.time() >= expires:
            return fitbit_error(401, "expired_token", "Access token expired", headers), headers
        if (refused := traffic.check("fitbit")) is not None:
            return fitbit_error(refused[0], "system", "Service unavailable", headers), headers
        return None, headers

    def window(start: str, end: str, kind: str) -> tuple[date, date] | JSONResponse:
        try:
            first, last = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError:
            return fitbit_error(400, "validation", "Invalid date: use yyyy-MM-dd")
        if (last - first).days + 1 > RANGE_LIMITS[kind]:
            return fitbit_error(400, "validation", f"The date range for {kind} must be at most "
                                                   f"{RANGE_LIMITS[kind]} days")
        return first, last

    def days(first: date, last: date):
        d = first
        while d <= last:
            yield d
            d += timedelta(days=1)

    @router.get("/oauth2/authorize")
    def authorize(request: Request, client_id: str = "", response_type: str = "", redirect_uri: str = "",
                  scope: str = "", code_challenge: str = "", code_challenge_method: str = "", state: str = ""):
        """The consent page, already consented: redirects to redirect_uri with a single-use code (PKCE S256)."""
        traffic.record("fitbit", "GET /oauth2/authorize")
        if client_id != auth.client_id:
            return fitbit_error(400, "invalid_request", "Invalid client_id")
        if response_type != "code" or code_challenge_method != "S256" or not code_challenge or not redirect_uri:
            return fitbit_error(400, "invalid_request", "Use response_type=code, a redirect_uri and a PKCE "
                                                        "code_challenge with code_challenge_method=S256")
        if not set(scope.split()) <= {"activity", "heartrate", "location", "nutrition", "profile", "settings",
                                      "sleep", "social", "weight", "oxygen_saturation", "respiratory_rate",
                                      "temperature", "cardio_fitness", "electrocardiogram"}:
            return fitbit_error(400, "invalid_scope", "Unknown scope")
        code = secrets.token_hex(20)
        with auth.lock:
            auth.codes[code] = (code_challenge, redirect_uri, time.time() + AUTHORIZATION_CODE_SECONDS)
        query = urlencode({"code": code, **({"state": state} if state else {})})
        # Fitbit appends this fragment to the redirect
        return RedirectResponse(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}#_=_", status_code=302)

    @router.post("/oauth2/token")
    async def token(request: Request):
        traffic.record("fitbit", "POST /oauth2/token")
        expected = base64.b64encode(f"{auth.client_id}:{auth.client_secret}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return fitbit_error(401, "invalid_client", "Invalid authorization header format.")
        form = await request.form()
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code, verifier = str(form.get("code", "")), str(form.get("code_verifier", ""))
            with auth.lock:
                challenge, redirect_uri, expires = auth.codes.pop(code, ("", "", 0.0))  # single use
                if not challenge or time.time() >= expires:
                    return fitbit_error(400, "invalid_grant", "Authorization code invalid")
                if form.get("redirect_uri") != redirect_uri:
                    return fitbit_error(400, "invalid_grant", "Redirect URI does not match the authorization request")
                computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if computed != challenge:
                    return fitbit_error(400, "invalid_grant", "Invalid code_verifier")
                return auth.issue_pair()
        if grant != "refresh_token":
            return fitbit_error(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
        old = str(form.get("refresh_token", ""))
        with auth.lock:
            if old not in auth.refresh_tokens:
                return fitbit_error(400, "invalid_grant", "Refresh token invalid. Visit https://dev.fitbit.com/docs/oauth2")
            auth.refresh_tokens.discard(old)  # single use
            return auth.issue_pair()

    @router.get("/1/user/-/profile.json")
    def profile(request: Request):
        err, headers = guard(request, "GET /1/user/-/profile")
        return err or JSONResponse({"user": {"encodedId": "SANDBX", "timezone": "Europe/Berlin",
                                             "displayName": "Synthetic Person"}}, headers=headers)

    @router.get("/1.2/user/-/sleep/list.json")
    def sleep_list(request: Request, afterDate: str, sort: str = "asc", limit: int = 100, offset: int = 0):  # noqa: N803
        err, headers = guard(request, "GET /1.2/user/-/sleep/list")
        if err:
            return err
        if sort != "asc" or not 1 <= limit <= 100:
            return fitbit_error(400, "validation", "Use sort=asc with afterDate and a limit of at most 100")
        logs = [s for s in health.sleep if s["dateOfSleep"] >= afterDate]
        page = logs[offset:offset + limit]
        more = offset + limit < len(logs)
        base = str(request.url).split("?")[0]
        nxt = f"{base}?afterDate={afterDate}&sort=asc&limit={limit}&offset={offset + limit}" if more else ""
        return JSONResponse({"pagination": {"afterDate": afterDate, "limit": limit, "next": nxt, "offset": offset,
                                            "previous": "", "sort": "asc"}, "sleep": page}, headers=headers)

    @router.get("/1/user/-/activities/steps/date/{start}/{end}.json")
    def steps(start: str, end: str, request: Request):
        err, headers = guard(request, "GET /1/user/-/activities/steps")
        if err:
            return err
        span = window(start, end, "steps")
        if isinstance(span, JSONResponse):
            return span
        return JSONResponse({"activities-steps": [{"dateTime": d.isoformat(), "value": str(health.steps.get(d, 0))}
                                                  for d in days(*span) if health.life.config.start <= d
                                                  <= health.life.config.end]}, headers=headers)

    @router.get("/1/user/-/activities/heart/date/{start}/{end}.json")
    def heart(start: str, end: str, request: Request):
        err, headers = guard(request, "GET /1/user/-/activities/heart")
        if err:
            return err
        span = window(start, end, "heart")
        if isinstance(span, JSONResponse):
            return span
        rows = []
        for d in days(*span):
            value: dict = {"customHeartRateZones": [], "heartRateZones": []}
            if d in health.resting_heart_rate:
                value["restingHeartRate"] = health.resting_heart_rate[d]
            rows.append({"dateTime": d.isoformat(), "value": value})
        return JSONResponse({"activities-heart": rows}, headers=headers)

    @router.get("/1/user/-/activities/heart/date/{day}/1d/{level}.json")
    def heart_intraday(day: str, level: str, request: Request):
        err, headers = guard(request, "GET /1/user/-/activities/heart/intraday")
        if err:
            return err
        if level not in ("1sec", "1min"):
            return fitbit_error(400, "validation", "detail-level must be 1sec or 1min in the sandbox")
        samples = health.heart_rate(date.fromisoformat(day))
        if level == "1sec":
            dataset = [{"time": f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}", "value": int(b)}
                       for s, b in zip(samples.seconds.tolist(), samples.bpm.tolist(), strict=True)]
        else:
            minutes, index = np.unique(samples.seconds // 60, return_inverse=True)
            means = np.bincount(index, weights=samples.bpm) / np.bincount(index)
            dataset = [{"time": f"{m // 60:02d}:{m % 60:02d}:00", "value": int(round(v))}
                       for m, v in zip(minutes.tolist(), means.tolist(), strict=True)]
        return JSONResponse({"activities-heart": [{"dateTime": day, "value": {}}],
                             "activities-heart-intraday": {"dataset": dataset, "datasetInterval": 1,
                                                           "datasetType": "second" if level == "1sec" else "minute"}},
                            headers=headers)

    @router.get("/1/user/-/body/log/weight/date/{start}/{end}.json")
    def weight(start: str, end: str, request: Request):
        err, headers = guard(request, "GET /1/user/-/body/log/weight")
        if err:
            return err
        span = window(start, end, "weight")
        if isinstance(span, JSONResponse):
            return span
        first, last = span
        logs = [w for w in health.weight if first <= date.fromisoformat(w["date"]) <= last]
        return JSONResponse({"weight": [{k: v for k, v in w.items() if v is not None} for w in logs]},
                            headers=headers)

    return router


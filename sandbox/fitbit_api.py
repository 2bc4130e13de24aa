"""FastAPI router replicating the legacy Fitbit Web API: single-use refresh tokens, range limits, 150 requests/hour."""

from __future__ import annotations

import base64
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.fitbit_data import FitbitHealth
from sandbox.traffic import Traffic

ACCESS_TOKEN_SECONDS = 28_800
RANGE_LIMITS = {"sleep": 100, "steps": 1095, "heart": 366, "weight": 31}


@dataclass
class FitbitAuth:
    """Live OAuth state: each refresh token works once; access tokens expire."""

    client_id: str
    client_secret: str
    refresh_tokens: set[str] = field(default_factory=set)
    access_tokens: dict[str, float] = field(default_factory=dict)
    rate_limit: int = 150
    window_seconds: float = 3600.0
    window_started: float | None = None
    used: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def issue_refresh_token(self) -> str:
        token = secrets.token_hex(32)
        self.refresh_tokens.add(token)
        return token


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

    @router.post("/oauth2/token")
    async def token(request: Request):
        traffic.record("fitbit", "POST /oauth2/token")
        expected = base64.b64encode(f"{auth.client_id}:{auth.client_secret}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return fitbit_error(401, "invalid_client", "Invalid authorization header format.")
        form = await request.form()
        if form.get("grant_type") != "refresh_token":
            return fitbit_error(400, "unsupported_grant_type", "grant_type must be refresh_token")
        old = str(form.get("refresh_token", ""))
        with auth.lock:
            if old not in auth.refresh_tokens:
                return fitbit_error(400, "invalid_grant", "Refresh token invalid. Visit https://dev.fitbit.com/docs/oauth2")
            auth.refresh_tokens.discard(old)  # single use
            access = secrets.token_hex(24)
            auth.access_tokens[access] = time.time() + ACCESS_TOKEN_SECONDS
            new = auth.issue_refresh_token()
        return {"access_token": access, "expires_in": ACCESS_TOKEN_SECONDS, "refresh_token": new,
                "scope": "sleep activity heartrate weight profile", "token_type": "Bearer", "user_id": "SANDBX"}

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


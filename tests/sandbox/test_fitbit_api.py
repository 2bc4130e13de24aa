"""The Fitbit Web API replica: single-use refresh tokens, expiry, range limits, pagination, the hourly limit."""

from __future__ import annotations

import time

import requests


def refresh(server, token: str) -> requests.Response:
    cfg = server.sandbox.config
    return requests.post(f"{server.fitbit_base_url}/oauth2/token", auth=(cfg.fitbit_client_id, cfg.fitbit_client_secret),
                         data={"grant_type": "refresh_token", "refresh_token": token}, timeout=10)


def first_token(server) -> str:
    return next(iter(server.sandbox.fitbit_auth.refresh_tokens))


def test_refresh_tokens_work_once(fitbit_api):
    token = first_token(fitbit_api)
    ok = refresh(fitbit_api, token)
    assert ok.status_code == 200 and ok.json()["refresh_token"] != token
    again = refresh(fitbit_api, token)
    assert again.status_code == 400
    assert again.json()["errors"][0]["errorType"] == "invalid_grant"


def test_expired_access_token_gives_401_expired_token(fitbit_api):
    access = refresh(fitbit_api, first_token(fitbit_api)).json()["access_token"]
    fitbit_api.sandbox.fitbit_auth.access_tokens[access] = time.time() - 1
    r = requests.get(f"{fitbit_api.fitbit_base_url}/1/user/-/profile.json",
                     headers={"Authorization": f"Bearer {access}"}, timeout=10)
    assert r.status_code == 401 and r.json()["errors"][0]["errorType"] == "expired_token"


def test_series_limits_pagination_and_rate_limit_headers(fitbit_api, fitbit_health):
    access = refresh(fitbit_api, first_token(fitbit_api)).json()["access_token"]
    headers = {"Authorization": f"Bearer {access}"}
    base = fitbit_api.fitbit_base_url
    start = fitbit_health.life.config.start
    steps = requests.get(f"{base}/1/user/-/activities/steps/date/{start}/{fitbit_health.life.config.end}.json",
                         headers=headers, timeout=10)
    assert all(isinstance(r["value"], str) for r in steps.json()["activities-steps"])
    assert int(steps.headers["Fitbit-Rate-Limit-Limit"]) == 150
    assert int(steps.headers["Fitbit-Rate-Limit-Remaining"]) == 149
    too_long = requests.get(f"{base}/1/user/-/body/log/weight/date/2025-01-01/2025-02-15.json", headers=headers,
                            timeout=10)
    assert too_long.status_code == 400 and too_long.json()["errors"][0]["errorType"] == "validation"
    logs, url, params = [], f"{base}/1.2/user/-/sleep/list.json", {"afterDate": str(start), "sort": "asc", "limit": 25}
    while url:
        page = requests.get(url, params=params, headers=headers, timeout=10).json()
        logs.extend(page["sleep"])
        url, params = page["pagination"]["next"], None
    assert [s["logId"] for s in logs] == [s["logId"] for s in fitbit_health.sleep]

    fitbit_api.sandbox.fitbit_auth.rate_limit = fitbit_api.sandbox.fitbit_auth.used
    limited = requests.get(f"{base}/1/user/-/profile.json", headers=headers, timeout=10)
    assert limited.status_code == 429
    assert limited.headers["Fitbit-Rate-Limit-Remaining"] == "0" and int(limited.headers["Fitbit-Rate-Limit-Reset"]) > 0

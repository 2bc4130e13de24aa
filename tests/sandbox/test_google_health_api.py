"""The Google Health API replica and Google's token endpoint, over HTTP: paths, the filter grammar, paging,
source families and reconciliation, the shapes (checked against the discovery document and the contract
fixtures), the fault and token knobs, and the legacy Fitbit Web API answering 410."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests

from pipelines.fitbit.contract import problems
from pipelines.fitbit.data_types import DATA_TYPES
from sandbox.google_health_data import TYPES
from tests.fixtures.google_health import contract_fixture

TIMEOUT = 10


def token_answer(env, refresh_token: str | None = None, **overrides) -> requests.Response:
    config = env.server.sandbox.config
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token or env.google.first_refresh_token,
            "client_id": config.fitbit_client_id, "client_secret": config.fitbit_client_secret, **overrides}
    return requests.post(env.server.google_token_uri, data=form, timeout=TIMEOUT)


def access_token(env) -> str:
    return token_answer(env).json()["access_token"]


def get(env, path: str, token: str | None = None, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{env.server.google_health_base_url}/{path}", params=params, headers=headers,
                        timeout=TIMEOUT)


def points(env, kebab: str, token: str, reconcile: bool = True, **params) -> tuple[list[dict], list[dict]]:
    """(every point, every page) of one query, following nextPageToken."""
    method = "dataPoints:reconcile" if reconcile else "dataPoints"
    out, pages, token_param = [], [], None
    while True:
        query = {**params, **({"pageToken": token_param} if token_param else {})}
        response = get(env, f"users/me/dataTypes/{kebab}/{method}", token, **query)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        out.extend(page.get("dataPoints", []))
        token_param = page.get("nextPageToken")
        if not token_param:
            return out, pages


def assert_google_error(response: requests.Response, code: int, status: str) -> dict:
    assert response.status_code == code, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["status"] == status and error["message"]
    return error


# --- paths and filters --------------------------------------------------------------------------


def test_data_types_are_kebab_case_and_camel_case_is_a_400_with_googles_error_body(google_health_api):
    token = access_token(google_health_api)
    assert get(google_health_api, "users/me/dataTypes/heart-rate/dataPoints", token, pageSize=1).status_code == 200
    error = assert_google_error(get(google_health_api, "users/me/dataTypes/heartRate/dataPoints", token), 400,
                                "INVALID_ARGUMENT")
    assert error["details"][0]["reason"] == "INVALID_PARENT_DATA_TYPE_COLLECTION"
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    # the contract fixture's error has the same members
    assert set(error) == set(contract_fixture("error_invalid_argument.json")["error"])
    unknown = get(google_health_api, "users/me/nothing-here", token)
    assert unknown.status_code == 404 and "text/html" in unknown.headers["content-type"], "unknown paths answer HTML"


@pytest.mark.parametrize("expression", [
    'heart_rate.sample_time.physical_time >= "2025-02-20T00:00:00Z"',
    'heart_rate.sample_time.physical_time >= "2025-02-20T00:00:00Z" AND '
    'heart_rate.sample_time.physical_time < "2025-02-21T00:00:00+10:00"',
    'heart_rate.sample_time.civil_time >= "2025-02-20T06:00:00"',
    'heart_rate.sample_time.civil_time >= "2025-02-20"',
])
def test_the_filter_members_and_literals_the_api_documents_are_accepted(google_health_api, expression):
    token = access_token(google_health_api)
    response = get(google_health_api, "users/me/dataTypes/heart-rate/dataPoints:reconcile", token,
                   filter=expression, pageSize=5)
    assert response.status_code == 200, response.text
    assert len(response.json()["dataPoints"]) == 5


@pytest.mark.parametrize(("kebab", "expression"), [
    ("heart-rate", 'heart_rate.sample_time.physical_time > "2025-02-20T00:00:00Z"'),  # only >= and <
    ("heart-rate", 'heart_rate.sample_time.physical_time = "2025-02-20T00:00:00Z"'),
    ("heart-rate", 'heart_rate.sample_time.physical_time >= "2025-02-20"'),  # a physical time needs RFC 3339
    ("heart-rate", 'heart_rate.sample_time.physical_time >= "2025-02-20T00:00:00"'),  # ... with its offset
    ("heart-rate", 'steps.interval.start_time >= "2025-02-20T00:00:00Z"'),  # another type's member
    ("heartRate", 'heart_rate.sample_time.physical_time >= "2025-02-20T00:00:00Z"'),
    ("steps", 'steps.interval.start_time >= "2025-02-20T00:00:00Z" OR steps.interval.start_time < '
              '"2025-01-02T00:00:00Z"'),  # OR is for sleep only
    ("steps", 'steps.interval.end_time >= "2025-02-20T00:00:00Z"'),  # not a filter member of steps
    ("exercise", 'exercise.interval.start_time >= "2025-02-20T00:00:00Z"'),  # exercise: civil_start_time only
    ("daily-oxygen-saturation", 'daily_oxygen_saturation.date >= "2025-02-20T00:00:00Z"'),  # a date literal
    ("sleep", 'sleep.interval.start_time >= "2025-02-20T00:00:00Z"'),  # sleep filters on its end
])
def test_anything_else_is_400_invalid_argument(google_health_api, kebab, expression):
    token = access_token(google_health_api)
    assert_google_error(get(google_health_api, f"users/me/dataTypes/{kebab}/dataPoints", token,
                            filter=expression), 400, "INVALID_ARGUMENT")


def test_sleep_accepts_or_and_filters_on_its_end(google_health_api):
    token = access_token(google_health_api)
    expression = ('sleep.interval.end_time >= "2025-02-27T00:00:00Z" OR '
                  'sleep.interval.civil_end_time >= "2025-02-27"')
    sessions, _ = points(google_health_api, "sleep", token, filter=expression)
    assert sessions and all(s["sleep"]["interval"]["endTime"] >= "2025-02-26T14:00:00Z" for s in sessions)


# --- paging -----------------------------------------------------------------------------------------


def test_pages_are_newest_first_sized_as_documented_and_tied_to_their_query(google_health_api):
    token = access_token(google_health_api)
    path = "users/me/dataTypes/heart-rate/dataPoints:reconcile"
    default = get(google_health_api, path, token).json()
    assert len(default["dataPoints"]) == 1440, "default page size"
    google_health_api.google.data.knobs.empty_page_every = 0
    big = get(google_health_api, path, token, pageSize=50_000).json()
    assert len(big["dataPoints"]) == 10_000, "pageSize above the maximum is truncated to 10,000"
    times = [p["heartRate"]["sampleTime"]["physicalTime"] for p in big["dataPoints"]]
    assert times == sorted(times, reverse=True), "newest first"
    sleep = get(google_health_api, "users/me/dataTypes/sleep/dataPoints:reconcile", token, pageSize=100).json()
    assert len(sleep["dataPoints"]) == 25 and sleep["nextPageToken"], "sleep pages hold at most 25"
    exercise = get(google_health_api, "users/me/dataTypes/exercise/dataPoints:reconcile", token, pageSize=100)
    assert len(exercise.json()["dataPoints"]) <= 25
    # a token only continues the query that returned it
    assert_google_error(get(google_health_api, path, token, pageSize=10, pageToken=default["nextPageToken"]), 400,
                        "INVALID_ARGUMENT")
    assert_google_error(get(google_health_api, path, token, pageSize=-1), 400, "INVALID_ARGUMENT")


def test_an_empty_page_still_carries_a_token_and_paging_goes_on_after_it(google_health_api):
    token = access_token(google_health_api)
    google_health_api.google.data.knobs.empty_page_every = 2
    all_points, pages = points(google_health_api, "steps", token, pageSize=500)
    empty = [p for p in pages if not p.get("dataPoints")]
    assert empty and all(p.get("nextPageToken") for p in empty), "empty pages that are not the last carry a token"
    assert set(empty[0]) == set(contract_fixture("empty_page_with_token.json"))
    google_health_api.google.data.knobs.empty_page_every = 0
    assert points(google_health_api, "steps", token, pageSize=500)[0] == all_points, "the same points either way"


# --- families, reconciliation, shapes ------------------------------------------------------------


def test_phone_and_watch_counted_one_minute_twice_and_reconcile_keeps_it_once(google_health_api):
    token = access_token(google_health_api)
    day = google_health_api.health.life.config.end - timedelta(days=1)
    expression = (f'steps.interval.civil_start_time >= "{day.isoformat()}" AND '
                  f'steps.interval.civil_start_time < "{(day + timedelta(days=1)).isoformat()}"')
    listed, _ = points(google_health_api, "steps", token, reconcile=False, filter=expression)
    wearables, _ = points(google_health_api, "steps", token, reconcile=False, filter=expression,
                          dataSourceFamily="users/me/dataSourceFamilies/google-wearables")
    reconciled, _ = points(google_health_api, "steps", token, filter=expression,
                           dataSourceFamily="users/me/dataSourceFamilies/all-sources")
    minutes = google_health_api.health.minute_steps[day]
    starts = [p["steps"]["interval"]["startTime"] for p in listed]
    assert len(starts) > len(set(starts)) == len(minutes), "some minutes come from two devices"
    assert {p["dataSource"]["device"]["formFactor"] for p in listed} == {"WATCH", "PHONE"}
    assert len(wearables) == len(reconciled) == len(minutes)
    assert sum(int(p["steps"]["count"]) for p in reconciled) == sum(minutes.values()), "the watch's counts, once"
    assert all("dataSource" not in p for p in reconciled), "reconciled points carry no dataSource"
    none, _ = points(google_health_api, "steps", token, reconcile=False, filter=expression,
                     dataSourceFamily="self-sources")
    assert none == [], "this client wrote nothing"


def test_sleep_rejects_a_source_family_on_list_but_not_on_reconcile(google_health_api):
    token = access_token(google_health_api)
    family = "users/me/dataSourceFamilies/all-sources"
    assert_google_error(get(google_health_api, "users/me/dataTypes/sleep/dataPoints", token,
                            dataSourceFamily=family), 400, "INVALID_ARGUMENT")
    assert get(google_health_api, "users/me/dataTypes/sleep/dataPoints:reconcile", token,
               dataSourceFamily=family).status_code == 200


def _paths(value, prefix: str = "$") -> set[str]:
    """Every member path of a JSON value, array indices collapsed."""
    if isinstance(value, dict):
        return {prefix} | {p for k, v in value.items() for p in _paths(v, f"{prefix}.{k}")}
    if isinstance(value, list):
        return {prefix} | {p for v in value for p in _paths(v, f"{prefix}[]")}
    return {prefix}


# members the contract fixtures do not show but the discovery document documents (and the replica sends)
DOCUMENTED_EXTRA = {"$.sleep.metadata.nap", "$.dataSource.application", "$.dataSource.application.packageName",
                    "$.dataSource.device", "$.dataSource.device.displayName",
                    "$.dataSource.device.manufacturer", "$.dataSource.device.formFactor",
                    "$.exercise.metricsSummary.distanceMillimeters", "$.exercise.metricsSummary.steps"}
FIXTURES = {"heart-rate": "list_heart_rate.json", "steps": "list_steps.json", "sleep": "list_sleep.json",
            "weight": "list_weight.json", "body-fat": "list_body_fat.json",
            "daily-resting-heart-rate": "list_daily_resting_heart_rate.json",
            "daily-heart-rate-variability": "list_daily_heart_rate_variability.json",
            "daily-oxygen-saturation": "list_daily_oxygen_saturation.json", "exercise": "list_exercise.json",
            "active-energy-burned": "list_active_energy_burned.json",
            "basal-energy-burned": "list_basal_energy_burned.json", "active-minutes": "list_active_minutes.json"}


BY_KEBAB = {t.kebab: t for t in DATA_TYPES}


@pytest.mark.parametrize("kebab", list(FIXTURES))
def test_every_data_type_conforms_to_the_discovery_document_and_to_the_contract_fixtures(google_health_api, kebab):
    """Walks each data type (list and reconcile) through the discovery-schema validator, and checks the replica
    sends no member the fixtures from real payloads (or the discovery document) do not show."""
    token = access_token(google_health_api)
    google_health_api.google.data.knobs.empty_page_every = 0
    fixture_points = contract_fixture(FIXTURES[kebab])["dataPoints"]
    allowed = set().union(*(_paths(p) for p in fixture_points)) | DOCUMENTED_EXTRA
    for reconcile, schema in ((False, "ListDataPointsResponse"), (True, "ReconcileDataPointsResponse")):
        since = google_health_api.health.life.config.end - timedelta(days=2 if kebab == "heart-rate" else 20)
        all_points, pages = points(google_health_api, kebab, token, reconcile=reconcile, pageSize=1000,
                                   filter=BY_KEBAB[kebab].filter(since))
        assert all_points, f"{kebab} has data"
        for page in pages:
            assert problems(page, schema) == [], f"{kebab} {schema}"
        for point in all_points[:300]:
            envelope = {k: v for k, v in point.items() if k not in ("name", "dataPointName")}
            extra = _paths(envelope) - allowed
            assert not extra, f"{kebab} sends members no contract fixture shows: {sorted(extra)}"
        names = {("name" in p, "dataPointName" in p) for p in all_points}
        identifiable = TYPES[kebab].identifiable
        assert names == {(identifiable and not reconcile, identifiable and reconcile)}, "name only where Google has one"


def test_int64_values_are_strings_and_sessions_have_no_civil_times(google_health_api):
    token = access_token(google_health_api)
    heart, _ = points(google_health_api, "heart-rate", token, pageSize=10_000,
                      filter='heart_rate.sample_time.physical_time >= "2025-02-28T00:00:00Z"')
    assert all(isinstance(p["heartRate"]["beatsPerMinute"], str) for p in heart)
    sleep, _ = points(google_health_api, "sleep", token)
    exercise, _ = points(google_health_api, "exercise", token)
    for session in [s["sleep"] for s in sleep] + [e["exercise"] for e in exercise]:
        assert "civilStartTime" not in session["interval"] and "civilEndTime" not in session["interval"]
    assert all(isinstance(s["sleep"]["summary"]["minutesAsleep"], str) for s in sleep)


def test_the_parsers_read_every_data_type_the_replica_serves(google_health_api):
    token = access_token(google_health_api)
    for data_type in DATA_TYPES:
        days = 2 if data_type.kebab == "heart-rate" else 20
        served, _ = points(google_health_api, data_type.kebab, token, pageSize=5000,
                           filter=data_type.filter(google_health_api.health.life.config.end - timedelta(days=days)))
        table, rejected = data_type.to_arrow(served)
        assert rejected == [] and table.num_rows == len(served) > 0, data_type.kebab


# --- faults, tokens, knobs ------------------------------------------------------------------------


def test_an_injected_429_is_resource_exhausted_with_retry_after(google_health_api):
    token = access_token(google_health_api)
    google_health_api.google.retry_after_seconds = 7
    google_health_api.server.sandbox.traffic.inject("google_health", [429, 503])
    refused = get(google_health_api, "users/me/dataTypes/steps/dataPoints", token)
    error = assert_google_error(refused, 429, "RESOURCE_EXHAUSTED")
    assert refused.headers["Retry-After"] == "7" and error["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert_google_error(get(google_health_api, "users/me/dataTypes/steps/dataPoints", token), 503, "UNAVAILABLE")
    assert get(google_health_api, "users/me/dataTypes/steps/dataPoints", token).status_code == 200


def test_tokens_refresh_without_rotation_and_refusals_have_googles_shape(google_health_api):
    first = token_answer(google_health_api)
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"access_token", "expires_in", "scope", "token_type", "refresh_token_expires_in"}
    assert "refresh_token" not in body, "Google does not rotate refresh tokens"
    assert token_answer(google_health_api).status_code == 200, "the same refresh token works again"
    assert set(contract_fixture("token_response_testing.json")) - set(body) == {"refresh_token"}
    wrong = token_answer(google_health_api, client_secret="nope")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert_google_error(get(google_health_api, "users/me/dataTypes/steps/dataPoints"), 401, "UNAUTHENTICATED")
    google_health_api.google.oauth.revoke_refresh_tokens()
    revoked = token_answer(google_health_api)
    assert revoked.status_code == 400 and revoked.json() == contract_fixture("token_invalid_grant.json")
    assert_google_error(get(google_health_api, "users/me/dataTypes/steps/dataPoints", body["access_token"]), 401,
                        "UNAUTHENTICATED")


def test_a_testing_apps_refresh_token_expires_after_seven_days(google_health_api):
    assert token_answer(google_health_api).status_code == 200
    google_health_api.google.oauth.pass_days(6.9)
    assert token_answer(google_health_api).status_code == 200
    google_health_api.google.oauth.pass_days(0.2)
    expired = token_answer(google_health_api)
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"


def test_a_project_that_is_not_onboarded_gets_403_permission_denied(google_health_api):
    token = access_token(google_health_api)
    google_health_api.google.onboarded = False
    assert_google_error(get(google_health_api, "users/me/dataTypes/steps/dataPoints", token), 403,
                        "PERMISSION_DENIED")


def test_late_days_deletions_and_the_server_clock(google_health_api):
    token = access_token(google_health_api)
    data = google_health_api.google.data
    day = google_health_api.health.life.config.end - timedelta(days=1)
    expression = f'daily_resting_heart_rate.date >= "{day.isoformat()}"'
    before, _ = points(google_health_api, "daily-resting-heart-rate", token, filter=expression)
    assert len(before) == 2
    data.arrive_late(day, days_late=2)
    assert len(points(google_health_api, "daily-resting-heart-rate", token, filter=expression)[0]) == 1
    data.set_today(day + timedelta(days=2))
    assert len(points(google_health_api, "daily-resting-heart-rate", token, filter=expression)[0]) == 2
    requests.post(f"{google_health_api.server.url}/_sandbox/google_health/delete", timeout=TIMEOUT,
                  json={"data_type": "daily-resting-heart-rate", "key": day.isoformat()}).raise_for_status()
    after, _ = points(google_health_api, "daily-resting-heart-rate", token, filter=expression)
    end = google_health_api.health.life.config.end
    assert [p["dailyRestingHeartRate"]["date"] for p in after] == [{"year": end.year, "month": end.month,
                                                                     "day": end.day}]


def test_the_legacy_fitbit_web_api_answers_410_gone_everywhere(google_health_api):
    for path in ("1/user/-/activities/heart/date/2025-01-01/1d/1sec.json", "oauth2/token"):
        method = requests.post if path.startswith("oauth2") else requests.get
        assert method(f"{google_health_api.server.fitbit_base_url}/{path}", timeout=TIMEOUT).status_code == 410


def test_identity_and_the_consent_page(google_health_api):
    token = access_token(google_health_api)
    me = get(google_health_api, "users/me/identity", token).json()
    assert problems(me, "Identity") == [] and me["healthUserId"]
    config = google_health_api.server.sandbox.config
    query = {"client_id": config.fitbit_client_id, "redirect_uri": "http://localhost:53682/", "response_type": "code",
             "scope": "https://www.googleapis.com/auth/googlehealth.sleep.readonly", "state": "s1",
             "code_challenge": "x" * 43, "code_challenge_method": "S256", "access_type": "offline"}
    consent = requests.get(google_health_api.server.google_auth_uri, params=query, allow_redirects=False,
                           timeout=TIMEOUT)
    assert consent.status_code == 302 and consent.headers["location"].startswith("http://localhost:53682/?state=s1")
    elsewhere = requests.get(google_health_api.server.google_auth_uri, allow_redirects=False, timeout=TIMEOUT,
                             params={**query, "redirect_uri": "https://attacker.example/cb"})
    assert elsewhere.status_code == 400, "only loopback or registered redirect URIs"
    assert json.dumps(me)  # serialisable, nothing else to prove


def test_the_replica_says_how_to_point_the_pipeline_at_it(google_health_api):
    config = requests.get(f"{google_health_api.server.url}/_sandbox/google_health/config", timeout=TIMEOUT).json()
    env = google_health_api.server.pipeline_env()
    for name in ("SOURCES__FITBIT__API_BASE_URL", "SOURCES__FITBIT__TOKEN_URI", "SOURCES__FITBIT__CLIENT_ID",
                 "SOURCES__FITBIT__REFRESH_TOKEN"):
        assert config[name] == env[name]

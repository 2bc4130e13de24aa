"""The Fitbit pipeline on the Google Health API v4, against the sandbox over real HTTP: counts per data type,
the re-read window (second runs, late data, edits and deletions), the reconciled stream, a 429 storm, token
refusals and their one-line messages, the first consent (Desktop and Web clients), the legacy tables a full
refresh must not drop, and the 410 of the old Fitbit Web API."""

from __future__ import annotations

import shutil
import threading
import time
import webbrowser
from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

import dlt
import pytest
import requests

from pipelines.common import cli
from pipelines.common.errors import SourceError
from pipelines.common.runner import run_source
from pipelines.common.settings import make_pipeline
from pipelines.fitbit import authorize as fitbit_authorize
from pipelines.fitbit import fitbit_source
from pipelines.fitbit.data_types import DATA_TYPES
from pipelines.fitbit.oauth import gone_line, invalid_grant_line
from pipelines.fitbit.settings import ALL_SOURCES, SCOPES
from pipelines.fitbit.tokens import LocalFileTokenStore, TokenSet
from sandbox.google_health_data import HEALTH_USER_ID
from tests.conftest import run_dbt
from tests.fixtures.google_health import GOOGLE_HEALTH_TABLES, expected_rows, heart_rate_points_alive, workout_days

TIMEOUT = 10
AUTHORIZE = "python -m pipelines.fitbit.authorize"


def load(full_refresh: bool = False):
    return run_source("fitbit", fitbit_source, full_refresh)


def snapshot(warehouse) -> dict[str, list[tuple]]:
    """Every row of every raw table the pipeline owns, in a stable order, without dlt's load bookkeeping
    (`_dlt_load_id` changes when a re-read window is replaced by the same rows)."""
    columns: dict[str, list[str]] = {}
    for table, column in warehouse.query(
            "select table_name, column_name from information_schema.columns where table_schema = 'raw' "
            "and column_name not like '\\_dlt\\_%' escape '\\' order by table_name, ordinal_position"):
        columns.setdefault(table, []).append(column)
    return {t: warehouse.query(f"select {', '.join(columns[t])} from raw.{t} order by all")
            for t in GOOGLE_HEALTH_TABLES if t in columns}


def counts(warehouse) -> dict[str, int]:
    return {t: len(rows) for t, rows in snapshot(warehouse).items()}


def window(monkeypatch, env, days: int) -> tuple[date, date]:
    end = env.health.life.config.end
    start = end - timedelta(days=days - 1)
    monkeypatch.setenv("SOURCES__FITBIT__START_DATE", start.isoformat())
    return start, end


def only(monkeypatch, *entities: str) -> None:
    monkeypatch.setenv("SOURCES__FITBIT__DATA_TYPES", str(list(entities)).replace("'", '"'))


def stale_access_token(path) -> TokenSet:
    """Make the stored access token look expired (the next run refreshes), keeping everything else."""
    store = LocalFileTokenStore(path)
    tokens = store.read()
    store.write(TokenSet(tokens.access_token, tokens.refresh_token, time.time() - 1, tokens.user_id,
                         tokens.refresh_token_expires_at, tokens.consented_at))
    return tokens


def no_secret_in(text: str, env) -> None:
    oauth = env.google.oauth
    for token in [*oauth.grants, *oauth.access_tokens, env.server.sandbox.config.fitbit_client_secret]:
        assert token not in text


# --- loading --------------------------------------------------------------------------------------


def test_first_load_counts_every_data_type_then_a_second_run_rereads_only_the_lag_window(
        google_health_api, warehouse, monkeypatch):
    env = google_health_api
    life = env.health.life.config
    start, end = window(monkeypatch, env, life.days)
    first = load()
    assert counts(warehouse) == expected_rows(env.health, start, end, workout_days(env.google))
    assert first.api_requests == env.data_requests() and first.api_retries == 0
    assert env.token_posts() == 1, "one refresh, then the cached access token"
    # every data type read from the reconciled stream, with the documented page sizes and filters
    asked = env.google.requests
    assert {r["method"] for r in asked} == {"dataPoints:reconcile"}
    for request in asked:
        params, sessions = request["params"], request["data_type"] in ("sleep", "exercise")
        assert params["pageSize"] == ("25" if sessions else "10000")
        assert params.get("dataSourceFamily") == (None if request["data_type"] == "sleep" else ALL_SOURCES)
    assert any("pageToken" in r["params"] for r in asked), "pages were followed (empty ones included)"
    # each page went to dlt as an Arrow table: the load package holds parquet files, not JSON rows
    pipeline = make_pipeline("fitbit")
    files = [job.file_path for package in pipeline.last_trace.last_load_info.load_packages
             for job in package.jobs["completed_jobs"]]
    assert any("fitbit__heart_rate_samples" in f and f.endswith(".parquet") for f in files)

    before = snapshot(warehouse)
    asked.clear()
    second = load()
    assert snapshot(warehouse) == before, "the re-read window was replaced by the same rows"
    assert second.api_requests == len(asked) <= len(DATA_TYPES) + 3
    assert second.api_requests < first.api_requests / 2
    newest = {t.kebab: warehouse.scalar(f"select max(window_date) from raw.fitbit__{t.entity}") for t in DATA_TYPES}
    for request in asked:
        lag_start = (newest[request["data_type"]] - timedelta(days=3)).isoformat()
        assert f'>= "{lag_start}' in request["params"]["filter"], f"{request['data_type']} re-reads from newest - 3 days"
    assert env.token_posts() == 1, "the second run reused the cached access token"
    heart_rate = second.rows["fitbit__heart_rate_samples"]
    assert 0 < heart_rate < before["fitbit__heart_rate_samples"].__len__() / 10


def test_a_day_arriving_late_lands_on_the_next_run(google_health_api, warehouse, monkeypatch):
    env = google_health_api
    start, end = window(monkeypatch, env, 6)
    late = end - timedelta(days=1)
    env.google.data.arrive_late(late, days_late=2)  # the server's today is the last day: that day is not there yet
    load()
    expected = expected_rows(env.health, start, end, workout_days(env.google))
    missing = len(env.health.heart_rate(late))
    assert counts(warehouse)["fitbit__heart_rate_samples"] == expected["fitbit__heart_rate_samples"] - missing
    assert warehouse.scalar("select count(*) from raw.fitbit__daily_resting_heart_rate where metric_date = ?",
                            [late]) == 0
    env.google.data.set_today(end + timedelta(days=1))  # two days after the late day: it synced
    load()
    assert counts(warehouse) == expected, "the late day landed inside the re-read window"


def test_phone_and_watch_reporting_the_same_minutes_count_once(google_health_api, warehouse, monkeypatch):
    env = google_health_api
    start, end = window(monkeypatch, env, 4)
    only(monkeypatch, "steps_intervals")
    load()
    for day in (end - timedelta(days=1), end):  # whole local days inside the window
        minutes = env.health.minute_steps[day]
        rows, total = warehouse.query("select count(*), sum(steps) from raw.fitbit__steps_intervals "
                                      "where cast(start_at_local as date) = ?", [day])[0]
        assert rows == len(minutes) and total == env.health.steps[day], "each minute once, the watch's count"
    listed = [r for r in env.google.requests if r["method"] == "dataPoints"]
    assert listed == [], "the pipeline never reads the per-device list"


def test_a_point_deleted_or_edited_inside_the_window_is_reconciled_downstream(
        google_health_api, warehouse, monkeypatch):
    env = google_health_api
    start, end = window(monkeypatch, env, 10)
    only(monkeypatch, "heart_rate_samples", "weight_points")
    load()

    def instants(where: str, limit: int) -> list[str]:
        return [r[0] for r in warehouse.query(
            "select strftime(sample_at_utc, '%Y-%m-%dT%H:%M:%SZ') from raw.fitbit__heart_rate_samples "
            f"where {where} order by sample_at_utc limit {limit}")]

    deleted, edited = instants(f"window_date = '{end}'", 2)
    (outside,) = instants("true", 1)
    newest_weigh_in = warehouse.query("select weight_id from raw.fitbit__weight_points "
                                      "order by measured_at_utc desc limit 1")[0][0]
    for point in (deleted, outside):
        requests.post(f"{env.server.url}/_sandbox/google_health/delete", timeout=TIMEOUT,
                      json={"data_type": "heart-rate", "key": point}).raise_for_status()
    env.google.data.edit("heart-rate", edited, {"beatsPerMinute": "151"})
    env.google.data.delete("weight", newest_weigh_in)  # the newest is always inside the re-read window
    load()
    run_dbt("build", "--select", "stg_google_health__heart_rate_samples", "stg_google_health__weight",
            "stg_google_health__body_fat")

    def bpm(instant: str) -> list[int]:
        return [r[0] for r in warehouse.query(
            "select bpm from staging.stg_google_health__heart_rate_samples "
            "where strftime(sample_at_utc, '%Y-%m-%dT%H:%M:%SZ') = ?", [instant])]

    assert bpm(deleted) == [], "deleted inside the re-read window: gone from staging"
    assert bpm(edited) == [151], "edited inside the window: the new value"
    assert len(bpm(outside)) == 1, "deleted before the window: no re-read sees it (the API has no change feed)"
    assert warehouse.scalar("select count(*) from staging.stg_google_health__weight where weight_id = ?",
                            [newest_weigh_in]) == 0


def test_each_page_is_converted_with_the_cycle_collector_paused_and_freed_before_it_resumes(google_health_api,
                                                                                          monkeypatch):
    """A heart-rate page parses into tens of thousands of dicts that live only until their conversion to Arrow. With
    Python's cyclic collector on, every page was promoted to the old generation and set off full collections of the
    heap (in `make demo`: 29 of them, 4.4 s of the 9 s load); now it is paused for a page's fetch and conversion and
    nothing holds the page's points once the collector is back on (dlt's paginator kept the parsed body)."""
    import gc
    import os

    from pipelines.fitbit.client import HealthApiClient
    from pipelines.fitbit.data_types import BY_ENTITY

    heart_rate = BY_ENTITY["heart_rate_samples"]
    client = HealthApiClient(os.environ["SOURCES__FITBIT__API_BASE_URL"], os.environ["SOURCES__FITBIT__CLIENT_ID"],
                             os.environ["SOURCES__FITBIT__CLIENT_SECRET"], LocalFileTokenStore(google_health_api.token_path),
                             os.environ["SOURCES__FITBIT__REFRESH_TOKEN"], os.environ["SOURCES__FITBIT__TOKEN_URI"])
    collector_on_while_converting = []
    convert = type(heart_rate).to_arrow

    def recording(self, points):
        collector_on_while_converting.append(gc.isenabled())
        return convert(self, points)

    monkeypatch.setattr(type(heart_rate), "to_arrow", recording)
    since = google_health_api.health.life.config.end - timedelta(days=20)
    gc.collect()
    before, rows = heart_rate_points_alive(), 0
    for table, _rejected in client.tables(heart_rate, heart_rate.filter(since)):
        rows += table.num_rows
        assert gc.isenabled(), "the collector is back on between pages"
        assert heart_rate_points_alive() <= before, "a page's points outlived its conversion"
    assert rows > heart_rate.page_size, "more than one page was read"
    assert collector_on_while_converting and not any(collector_on_while_converting)

    def failing(self, points):
        raise RuntimeError("conversion failed")

    monkeypatch.setattr(type(heart_rate), "to_arrow", failing)
    with pytest.raises(RuntimeError, match="conversion failed"):
        next(client.tables(heart_rate, heart_rate.filter(since)))
    assert gc.isenabled(), "a failed page leaves the collector on"


def test_a_malformed_point_is_a_rejected_record_and_the_rest_loads(google_health_api, warehouse, monkeypatch):
    env = google_health_api
    start, end = window(monkeypatch, env, 3)
    only(monkeypatch, "heart_rate_samples")
    hr = env.google.data.heart_rate_day(end)
    instants = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(us / 1e6)) for us in hr.utc_us[:2].tolist()]
    env.google.data.make_corrupt("heart-rate", instants[0], {"beatsPerMinute": "fast"})
    env.google.data.make_corrupt("heart-rate", instants[1], {"sampleTime": None})
    report = load()
    expected = expected_rows(env.health, start, end, set())["fitbit__heart_rate_samples"]
    assert counts(warehouse)["fitbit__heart_rate_samples"] == expected - 2
    assert report.rejected == {"heart_rate_samples": 2}
    rows = warehouse.query("select entity, reason, origin, payload from raw.fitbit__rejected order by reason")
    assert [r[0] for r in rows] == ["heart_rate_samples"] * 2
    assert all(r[2] == "GET /v4/users/me/dataTypes/heart-rate/dataPoints:reconcile" for r in rows)
    assert any("sampleTime" in r[1] for r in rows) and any('"fast"' in r[3] for r in rows)


def test_a_429_storm_leaves_identical_tables_and_a_longer_one_fails_without_loading(
        google_health_api, warehouse, monkeypatch, capsys):
    env = google_health_api
    window(monkeypatch, env, 5)
    load()
    clean = snapshot(warehouse)
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "8")
    env.server.sandbox.traffic.inject("google_health", [429, 429, 503, 429, 429, 500, 429])  # the 8th attempt passes
    stormy = load(full_refresh=True)
    assert stormy.api_retries == 7 and snapshot(warehouse) == clean
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "4")
    env.server.sandbox.traffic.inject("google_health", [429] * 4)  # every attempt of one request refused
    assert cli.main("fitbit", fitbit_source, []) == 1
    (failed,) = [line for line in capsys.readouterr().err.splitlines() if "FAILED" in line]
    assert "still answered 429 RESOURCE_EXHAUSTED" in failed and "after every retry" in failed
    assert snapshot(warehouse) == clean, "nothing was loaded by the failed run"


# --- tokens ------------------------------------------------------------------------------------------


def test_a_revoked_refresh_token_fails_with_one_line_and_loses_nothing(google_health_api, warehouse, monkeypatch,
                                                                        capsys):
    env = google_health_api
    window(monkeypatch, env, 3)
    only(monkeypatch, "daily_resting_heart_rate", "weight_points")
    load()
    before = snapshot(warehouse)
    env.google.oauth.revoke_refresh_tokens()
    stored = stale_access_token(env.token_path)
    assert cli.main("fitbit", fitbit_source, []) == 1
    err = capsys.readouterr().err
    (failed,) = [line for line in err.splitlines() if "FAILED" in line]
    assert "invalid_grant" in failed and "revoked" in failed and "Testing" in failed
    assert failed.endswith(f"re-authorise: {AUTHORIZE}")
    no_secret_in(err, env)
    assert snapshot(warehouse) == before, "no table touched"
    assert LocalFileTokenStore(env.token_path).read().refresh_token == stored.refresh_token, "the store kept it"
    # a new consent (what the authorize command stores) and the next run carries on from the same state
    new_token, _ = env.google.oauth.issue_refresh_token(tuple(SCOPES))
    LocalFileTokenStore(env.token_path).write(TokenSet("", new_token, 0.0))
    second = load()
    assert snapshot(warehouse) == before and second.rows["fitbit__daily_resting_heart_rate"] == 3


def test_the_testing_consent_screens_7_day_expiry_is_named_as_such(google_health_api, warehouse, monkeypatch,
                                                                     capsys):
    env = google_health_api
    window(monkeypatch, env, 2)
    only(monkeypatch, "daily_spo2")
    load()
    store = LocalFileTokenStore(env.token_path)
    tokens = store.read()
    consented = time.time() - 8 * 86_400
    store.write(TokenSet(tokens.access_token, tokens.refresh_token, time.time() - 1, tokens.user_id,
                         consented + 7 * 86_400, consented))
    env.google.oauth.pass_days(8)
    assert cli.main("fitbit", fitbit_source, []) == 1
    (failed,) = [line for line in capsys.readouterr().err.splitlines() if "FAILED" in line]
    assert "7 days after the consent" in failed and '"Testing"' in failed and "In production" in failed
    assert AUTHORIZE in failed and "access was revoked" not in failed


def test_an_access_token_dying_mid_run_is_refreshed_once(google_health_api, warehouse, monkeypatch, capsys):
    env = google_health_api
    start, end = window(monkeypatch, env, 4)
    load()
    expected = counts(warehouse)
    env.google.oauth.expire_access_tokens(after_requests=4)
    load(full_refresh=True)
    err = capsys.readouterr().err
    assert "refused mid-run (401 UNAUTHENTICATED)" in err
    assert env.token_posts() == 2, "the first refresh, then exactly one mid-run"
    assert counts(warehouse) == expected
    no_secret_in(err, env)


def test_a_second_401_right_after_a_refresh_is_one_clear_line(google_health_api, warehouse, monkeypatch, capsys):
    env = google_health_api
    window(monkeypatch, env, 2)
    env.google.oauth.access_token_seconds = 0  # every access token is born expired
    assert cli.main("fitbit", fitbit_source, []) == 1
    (failed,) = [line for line in capsys.readouterr().err.splitlines() if "FAILED" in line]
    assert "refused the access token again right after a refresh (401 UNAUTHENTICATED)" in failed
    assert AUTHORIZE in failed and env.token_posts() == 2, "no refresh loop"


def test_a_project_google_has_not_onboarded_says_so_in_one_line(google_health_api, warehouse, monkeypatch, capsys):
    env = google_health_api
    window(monkeypatch, env, 2)
    env.google.onboarded = False
    assert cli.main("fitbit", fitbit_source, []) == 1
    (failed,) = [line for line in capsys.readouterr().err.splitlines() if "FAILED" in line]
    assert "403 PERMISSION_DENIED" in failed and "not onboarded" in failed
    assert "python -m pipelines.fitbit_export" in failed


@pytest.mark.parametrize("setting", ["SOURCES__FITBIT__API_BASE_URL", "SOURCES__FITBIT__TOKEN_URI"])
def test_an_old_fitbit_url_gets_one_line_saying_the_web_api_is_gone(google_health_api, warehouse, monkeypatch,
                                                                     capsys, setting):
    env = google_health_api
    window(monkeypatch, env, 2)
    old = env.server.fitbit_base_url + ("/oauth2/token" if setting.endswith("TOKEN_URI") else "")
    monkeypatch.setenv(setting, old)
    assert cli.main("fitbit", fitbit_source, []) == 1
    (failed,) = [line for line in capsys.readouterr().err.splitlines() if "FAILED" in line]
    assert "the Fitbit Web API is gone (HTTP 410 Gone" in failed and AUTHORIZE in failed


def test_the_refusal_lines_say_which_it_likely_is():
    now = 1_800_000_000.0
    fitbit = TokenSet("a", "f" * 64, now)
    assert "legacy Fitbit Web API refresh token" in invalid_grant_line(fitbit, "Bad Request", None, now)
    testing = TokenSet("a", "1//x", now, refresh_token_expires_at=now - 3600)
    assert '"Testing"' in invalid_grant_line(testing, "", None, now)
    revoked = TokenSet("a", "1//x", now, refresh_token_expires_at=now + 86_400)
    assert "was revoked" in invalid_grant_line(revoked, "", "gsm://projects/p/secrets/s", now)
    assert invalid_grant_line(revoked, "", "gsm://projects/p/secrets/s", now).endswith(
        f"{AUTHORIZE} --token-store gsm://projects/p/secrets/s")
    assert "api.fitbit.com" in gone_line("https://api.fitbit.com/1/user/-/profile.json")
    for line in (invalid_grant_line(None, "x", None, now), gone_line("https://api.fitbit.com/x")):
        assert "\n" not in line


# --- the first consent --------------------------------------------------------------------------------


class SandboxBrowser(webbrowser.BaseBrowser):
    """The user's browser: opens the consent page, Google (the sandbox) redirects to the loopback server."""

    opened: list[str] = []

    def open(self, url, new=0, autoraise=True):
        SandboxBrowser.opened.append(url)
        threading.Thread(target=lambda: requests.get(url, timeout=TIMEOUT), daemon=True).start()
        return True


@pytest.fixture
def consent_env(google_health_api, tmp_path, monkeypatch):
    """Nothing stored and no seed token: the state before anyone consented."""
    monkeypatch.delenv("SOURCES__FITBIT__REFRESH_TOKEN")
    monkeypatch.setattr(fitbit_authorize, "PENDING_PATH", tmp_path / "pending" / "fitbit_authorize.json")
    webbrowser.register("sandbox-browser", None, SandboxBrowser("sandbox-browser"))
    SandboxBrowser.opened = []
    return google_health_api


def test_first_consent_with_a_desktop_client_then_the_pipeline_runs_on_the_stored_token(
        consent_env, warehouse, monkeypatch, capsys):
    env = consent_env
    window(monkeypatch, env, 2)
    assert fitbit_authorize.main(["--browser", "sandbox-browser", "--timeout", "30"]) == 0
    (url,) = SandboxBrowser.opened
    query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    assert url.startswith(env.server.google_auth_uri)
    assert query["client_id"] == env.server.sandbox.config.fitbit_client_id and query["response_type"] == "code"
    assert query["access_type"] == "offline" and query["prompt"] == "consent" and query["state"]
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert set(query["scope"].split()) == set(SCOPES)
    assert urlparse(query["redirect_uri"]).hostname == "localhost"
    out = capsys.readouterr()
    assert f"for Health user {HEALTH_USER_ID}" in out.out and "7 days" in out.out and "In production" in out.out
    no_secret_in(out.out + out.err, env)
    stored = LocalFileTokenStore(env.token_path).read()
    assert stored.refresh_token in env.google.oauth.grants and stored.is_fresh()
    assert stored.refresh_token_expires_at == pytest.approx(time.time() + 7 * 86_400, abs=120)
    load()
    assert env.token_posts() == 1, "the consent's access token was used as it is"


def test_first_consent_with_a_web_client_in_two_steps(consent_env, tmp_path, capsys):
    env = consent_env

    def no_terminal(prompt: str) -> str:
        raise EOFError

    assert fitbit_authorize.main(["--redirect-uri", "https://www.google.com"], input_fn=no_terminal) == 0
    printed = capsys.readouterr().out
    assert "--redirect-url" in printed
    url = next(word for word in printed.split() if word.startswith(env.server.google_auth_uri))
    redirected = requests.get(url, allow_redirects=False, timeout=TIMEOUT).headers["location"]
    assert redirected.startswith("https://www.google.com?state=") or redirected.startswith("https://www.google.com/?")
    forged = redirected.replace("state=", "state=forged")
    assert fitbit_authorize.main(["--redirect-url", forged]) == 1
    assert "does not match this consent" in capsys.readouterr().err
    assert env.token_posts() == 0, "a forged redirect never reaches the token endpoint"
    assert fitbit_authorize.main(["--redirect-url", redirected]) == 0
    assert LocalFileTokenStore(env.token_path).read().user_id == HEALTH_USER_ID
    assert fitbit_authorize.main(["--redirect-url", redirected]) == 1
    assert "no consent in progress" in capsys.readouterr().err


def test_a_consent_the_user_declines_fails_with_one_line(consent_env, capsys):
    env = consent_env
    env.google.oauth.deny_consent = True

    def browser(prompt: str) -> str:
        url = next(w for w in capsys.readouterr().out.split() if w.startswith(env.server.google_auth_uri))
        return requests.get(url, allow_redirects=False, timeout=TIMEOUT).headers["location"]

    assert fitbit_authorize.main(["--redirect-uri", "https://www.google.com"], input_fn=browser) == 1
    assert "error=access_denied" in capsys.readouterr().err
    assert LocalFileTokenStore(env.token_path).read() is None


# --- ownership of raw tables ------------------------------------------------------------------------


def test_a_full_refresh_never_drops_the_legacy_tables(google_health_api, warehouse, monkeypatch, tmp_path):
    env = google_health_api
    window(monkeypatch, env, 2)
    only(monkeypatch, "daily_hrv")

    @dlt.source(name="fitbit")
    def older_fitbit():  # what an earlier version of this pipeline wrote (dlt schema "fitbit")
        yield dlt.resource([{"log_id": 1, "minutes_asleep": 420}], name="fitbit__sleep", primary_key="log_id",
                           write_disposition="merge")
        yield dlt.resource([{"measured_at": "2024-12-31T23:00:00", "bpm": 61}], name="fitbit__heart_rate_intraday")

    make_pipeline("fitbit").run(older_fitbit())
    legacy = {t: warehouse.count(f"raw.{t}") for t in ("fitbit__sleep", "fitbit__heart_rate_intraday")}
    load()
    load(full_refresh=True)
    assert {t: warehouse.count(f"raw.{t}") for t in legacy} == legacy
    shutil.rmtree(tmp_path / "dlt_pipelines")  # a fresh runner: state and schemas restored from the warehouse
    report = load(full_refresh=True)
    assert report.mode.full_refresh
    assert {t: warehouse.count(f"raw.{t}") for t in legacy} == legacy
    assert warehouse.count("raw.fitbit__daily_hrv") == 2


def test_unknown_data_types_are_refused_in_one_line(google_health_api, warehouse, monkeypatch):
    only(monkeypatch, "heart_rate", "steps_intervals")
    with pytest.raises(SourceError, match="unknown sources.fitbit.data_types"):
        fitbit_source()


# --- one life, two sources, the same marts ---------------------------------------------------------

HEALTH_MARTS = ("fct_sleep_sessions", "fct_daily_activity", "fct_heart_rate_daily", "health_daily",
                "activity_baseline")
# columns that name where a row came from, and what one source cannot have: the API has no BMI and no sedentary
# level in its active minutes, and this source loads no sleep score (the export does). Calories (the API's basal
# plus active energy) and the active levels are compared: both sources must give the same day.
SOURCE_COLUMNS = {"source_system", "source_rank", "sleep_session_id", "bmi", "sleep_score", "sedentary_minutes"}
# known precision differences: the API's resting heart rate is an int64 (the export keeps decimals); the API has
# no sleep efficiency (staging derives it, rounding half away from zero where Fitbit's own rounding may differ)
TOLERANCE = {"resting_heart_rate": 0.5, "resting_bpm": 0.5, "efficiency": 1.0}


def health_marts(warehouse) -> dict[str, tuple[list[str], list[tuple]]]:
    out = {}
    for mart in HEALTH_MARTS:
        columns = [c for (c,) in warehouse.query(
            "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ? "
            "order by ordinal_position", [mart]) if c not in SOURCE_COLUMNS]
        if columns:
            out[mart] = (columns, warehouse.query(f"select {', '.join(columns)} from marts.{mart} order by all"))
    return out


def assert_same_marts(api: dict, export: dict) -> None:
    assert api.keys() == export.keys() and api
    for mart, (columns, api_rows) in api.items():
        export_columns, export_rows = export[mart]
        assert columns == export_columns, mart
        assert len(api_rows) == len(export_rows), f"{mart}: {len(api_rows)} rows from the API, {len(export_rows)} " \
                                                  f"from the export"
        for api_row, export_row in zip(api_rows, export_rows, strict=True):
            for column, a, e in zip(columns, api_row, export_row, strict=True):
                tolerance = next((t for name, t in TOLERANCE.items() if column.endswith(name)), None)
                if tolerance is not None and a is not None and e is not None:
                    assert abs(float(a) - float(e)) <= tolerance, f"{mart}.{column}: {a} vs {e}"
                elif isinstance(a, float) or isinstance(e, float):
                    assert a == pytest.approx(e, rel=1e-9, abs=1e-9), f"{mart}.{column}: {a} vs {e}"
                else:
                    assert a == e, f"{mart}.{column}: {a!r} from the API, {e!r} from the export ({api_row})"


def test_the_health_marts_from_the_api_equal_those_from_an_export_of_the_same_life(
        google_health_api, warehouse, monkeypatch, tmp_path):
    from pipelines.fitbit.export import fitbit_export_source
    from sandbox.fitbit_export import write_export

    env = google_health_api
    window(monkeypatch, env, env.health.life.config.days)
    load()
    run_dbt("run", "--select", "+path:models/marts/health")
    from_api = health_marts(warehouse)

    export = write_export(env.health, tmp_path / "export")
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "export_only.duckdb"))
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "export_pipelines"))
    run_source("fitbit_export", lambda: fitbit_export_source(path=str(export.path)))
    run_dbt("run", "--select", "+path:models/marts/health")
    from_export = health_marts(type(warehouse)(tmp_path / "export_only.duckdb"))
    assert_same_marts(from_api, from_export)

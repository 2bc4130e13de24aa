"""The Fitbit Web API source against the sandbox: counts, token rotation, the hourly budget, overlap with the export,
an access token dying mid-run, a crash right after a refresh, concurrent starts, and the first authorisation."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from pipelines.common import cli, secret_manager
from pipelines.common.errors import SourceError
from pipelines.common.runner import run_source
from pipelines.fitbit import authorize as fitbit_authorize
from pipelines.fitbit import fitbit_source
from pipelines.fitbit.client import FitbitClient, RequestBudget, exchange_authorization_code, token_refresher
from pipelines.fitbit.export import fitbit_export_source
from pipelines.fitbit.tokens import LocalFileTokenStore, TokenSet
from pipelines.fitbit.tokens.secret_manager import SecretManagerTokenStore
from tests.fixtures.secret_manager import FakeSecretManager
from tests.pipelines.test_fitbit_export import TABLES, expected_counts, table_counts

SECRET = "projects/personal-data/secrets/fitbit-tokens"


def load():
    return run_source("fitbit", fitbit_source)


def test_api_load_matches_the_generator_and_rotates_the_token(fitbit_api, warehouse, fitbit_health, fitbit_export,
                                                              tmp_path):
    report = load()
    counts = table_counts(warehouse)
    expected = expected_counts(fitbit_export)
    # the API reports every day's steps (0 when not worn); the export only days with steps
    expected["fitbit__daily_activity"] = fitbit_health.life.config.days
    assert counts == expected
    assert report.api_requests == fitbit_api.sandbox.traffic.count("fitbit", "GET")
    stored = json.loads((tmp_path / "tokens" / "fitbit.json").read_text())
    assert stored["refresh_token"] in fitbit_api.sandbox.fitbit_auth.refresh_tokens, "the rotated token was saved"
    assert fitbit_api.sandbox.traffic.count("fitbit", "POST /oauth2/token") == 1
    # a second run reuses the saved access token (no refresh) and only re-pulls the last days
    second = load()
    assert fitbit_api.sandbox.traffic.count("fitbit", "POST /oauth2/token") == 1
    assert table_counts(warehouse) == counts
    assert second.api_requests < report.api_requests / 3


def test_budget_stops_cleanly_and_the_next_run_resumes(fitbit_api, warehouse, fitbit_export, fitbit_health,
                                                       monkeypatch, capsys):
    monkeypatch.setenv("SOURCES__FITBIT__HOURLY_BUDGET", "20")
    runs = 0
    while True:
        runs += 1
        load()
        if "budget spent" not in capsys.readouterr().err:
            break
        assert runs < 10
    assert runs >= 3
    expected = expected_counts(fitbit_export)
    expected["fitbit__daily_activity"] = fitbit_health.life.config.days
    assert table_counts(warehouse) == expected, "no gaps, no duplicates across the interrupted runs"
    assert fitbit_api.sandbox.traffic.count("fitbit", "GET") - fitbit_api.sandbox.fitbit_auth.used == 0, \
        "every request the server saw was within its hourly limit"


def test_server_rate_limit_is_respected_without_429s(fitbit_api, warehouse, capsys):
    fitbit_api.sandbox.fitbit_auth.rate_limit = 12
    report = load()
    assert "budget spent" in capsys.readouterr().err
    assert report.api_retries == 0, "stopped on Fitbit-Rate-Limit-Remaining, never hammered a 429"
    fitbit_api.sandbox.fitbit_auth.window_started = None  # the hour has passed
    load()
    assert warehouse.count("raw.fitbit__heart_rate_intraday") > 0


def test_api_and_export_together_give_one_row_per_key(fitbit_api, warehouse, fitbit_export, fitbit_health):
    run_source("fitbit_export", lambda: fitbit_export_source(path=str(fitbit_export.path)))
    load()
    for table, key in zip(TABLES, ("log_id", "activity_date", "heart_rate_date", "measured_at", "log_id"),
                          strict=True):
        total, distinct = warehouse.query(f"select count(*), count(distinct {key}) from raw.{table}")[0]
        assert total == distinct, f"{table} has {total - distinct} duplicate keys"
    assert warehouse.count("raw.fitbit__sleep") == len(fitbit_health.sleep)
    assert warehouse.count("raw.fitbit__heart_rate_intraday") == fitbit_export.rows["heart_rate"]


# --- token rotation against the sandbox, for both token stores ---


class Crash(BaseException):
    """The process dying (BaseException: nothing on the way catches it)."""


class Stores:
    """The token store the pipeline is configured with in this test, and fresh handles on it."""

    def __init__(self, kind: str, tmp_path, monkeypatch):
        self.kind = kind
        if kind == "file":
            self.path = tmp_path / "tokens" / "fitbit.json"  # what the fitbit_api fixture configures
        else:
            self.fake = FakeSecretManager()
            self.fake.add_secret(SECRET)
            monkeypatch.setattr(secret_manager, "make_client", lambda: self.fake)
            monkeypatch.setenv("SOURCES__FITBIT__TOKEN_STORE", f"gsm://{SECRET}")

    def handle(self):
        if self.kind == "file":
            return LocalFileTokenStore(self.path)
        return SecretManagerTokenStore(SECRET, self.fake, poll_seconds=0.02)


@pytest.fixture(params=["file", "gsm"])
def stores(request, fitbit_api, tmp_path, monkeypatch) -> Stores:
    return Stores(request.param, tmp_path, monkeypatch)


def full_counts(fitbit_export, fitbit_health) -> dict[str, int]:
    expected = expected_counts(fitbit_export)
    expected["fitbit__daily_activity"] = fitbit_health.life.config.days
    return expected


def token_posts(server) -> int:
    return server.sandbox.traffic.count("fitbit", "POST /oauth2/token")


def issued_tokens(server) -> list[str]:
    auth = server.sandbox.fitbit_auth
    return [*auth.access_tokens, *auth.refresh_tokens]


def test_reusing_a_spent_refresh_token_is_refused_with_invalid_grant(fitbit_api):
    config = fitbit_api.sandbox.config
    refresh = token_refresher(fitbit_api.fitbit_base_url, config.fitbit_client_id, config.fitbit_client_secret)
    seed = os.environ["SOURCES__FITBIT__REFRESH_TOKEN"]
    rotated = refresh(seed)
    raw = requests.post(f"{fitbit_api.fitbit_base_url}/oauth2/token", timeout=10,
                        auth=(config.fitbit_client_id, config.fitbit_client_secret),
                        data={"grant_type": "refresh_token", "refresh_token": seed})
    assert raw.status_code == 400 and raw.json()["errors"][0]["errorType"] == "invalid_grant"
    with pytest.raises(SourceError, match="invalid_grant") as refused:
        refresh(seed)
    assert seed not in str(refused.value)
    assert refresh(rotated.refresh_token).refresh_token != rotated.refresh_token, "the rotated one works, once"


def test_an_access_token_expiring_mid_run_is_refreshed_once_and_the_run_completes(
        fitbit_api, warehouse, stores, fitbit_export, fitbit_health, capsys):
    fitbit_api.sandbox.fitbit_auth.expire_access_tokens(after_requests=5)
    report = load()
    err = capsys.readouterr().err
    assert "rejected mid-run (401 expired_token)" in err
    assert token_posts(fitbit_api) == 2, "the first refresh, then exactly one mid-run refresh"
    assert table_counts(warehouse) == full_counts(fitbit_export, fitbit_health), "nothing lost around the 401"
    stored = stores.handle().read()
    auth = fitbit_api.sandbox.fitbit_auth
    assert stored.refresh_token in auth.refresh_tokens and auth.access_tokens[stored.access_token] > time.time()
    assert report.api_requests == fitbit_api.sandbox.traffic.count("fitbit", "GET"), "the 401 counted too"
    assert not any(token in err for token in issued_tokens(fitbit_api))


def test_a_second_401_right_after_the_refresh_fails_with_one_clear_line(fitbit_api, warehouse, capsys):
    # through the sandbox's admin API: every token issued from now on is born expired
    requests.post(f"{fitbit_api.url}/_sandbox/fitbit/expire_tokens", timeout=10,
                  json={"after_requests": 0, "access_token_seconds": 0}).raise_for_status()
    assert cli.main("fitbit", fitbit_source, []) == 1
    err = capsys.readouterr().err
    (failed,) = [line for line in err.splitlines() if "FAILED" in line]
    assert "rejected the access token again right after a refresh (401 expired_token)" in failed
    assert "fitbit_authorize" in failed
    assert token_posts(fitbit_api) == 2, "one refresh at start, one mid-run, then it stops (no refresh loop)"
    assert not any(token in err for token in issued_tokens(fitbit_api))


def test_a_crash_right_after_the_refresh_loses_nothing_and_the_next_run_works(
        fitbit_api, warehouse, stores, fitbit_export, fitbit_health, monkeypatch):
    store_type = type(stores.handle())
    original_write = store_type.write

    def write_then_crash(self, tokens):
        original_write(self, tokens)
        if tokens.access_token:  # the refreshed pair (not the first authorisation's seed): saved, then die
            raise Crash

    monkeypatch.setattr(store_type, "write", write_then_crash)
    with pytest.raises(Crash):
        load()
    monkeypatch.setattr(store_type, "write", original_write)
    saved = stores.handle().read()
    assert token_posts(fitbit_api) == 1
    assert saved.refresh_token in fitbit_api.sandbox.fitbit_auth.refresh_tokens, "the new refresh token survived"
    # the next run works on what was saved, and so does the saved refresh token once its access token is old
    load()
    assert table_counts(warehouse) == full_counts(fitbit_export, fitbit_health)
    assert token_posts(fitbit_api) == 1
    stores.handle().write(TokenSet(saved.access_token, saved.refresh_token, time.time() - 1, saved.user_id))
    load()
    assert token_posts(fitbit_api) == 2 and stores.handle().read().refresh_token != saved.refresh_token


def test_two_runs_starting_together_refresh_the_token_once(fitbit_api, stores, monkeypatch):
    real_refresher = token_refresher

    def slow_refresher(*args):
        refresh = real_refresher(*args)
        return lambda token: (time.sleep(0.3), refresh(token))[1]  # a slow network: the runs really overlap

    monkeypatch.setattr("pipelines.fitbit.client.token_refresher", slow_refresher)
    config, results = fitbit_api.sandbox.config, []

    def start_run():
        try:
            client = FitbitClient(fitbit_api.fitbit_base_url, config.fitbit_client_id, config.fitbit_client_secret,
                                  stores.handle(), os.environ["SOURCES__FITBIT__REFRESH_TOKEN"], RequestBudget(150))
            results.append(client.tokens.access_token)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results.append(f"error: {exc}")

    runs = [threading.Thread(target=start_run) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(30)
    assert len(results) == 2 and results[0] == results[1] and not results[0].startswith("error")
    assert token_posts(fitbit_api) == 1, "the second run waited for the lock and reused the new pair"


# --- the first authorisation: scripts/fitbit_authorize.py against the sandbox's consent and token endpoints ---

REDIRECT_URI = "http://localhost:8080/callback"


@pytest.fixture
def authorize_env(fitbit_api, tmp_path, monkeypatch):
    """No stored tokens and no seed: the state before anyone authorised."""
    monkeypatch.delenv("SOURCES__FITBIT__REFRESH_TOKEN")
    monkeypatch.setenv("SOURCES__FITBIT__AUTHORIZE_URL", f"{fitbit_api.fitbit_base_url}/oauth2/authorize")
    monkeypatch.setenv("SOURCES__FITBIT__REDIRECT_URI", REDIRECT_URI)
    monkeypatch.setattr(fitbit_authorize, "PENDING_PATH", tmp_path / "pending" / "fitbit_authorize.json")
    return fitbit_api


def consent(printed: str) -> tuple[str, str]:
    """What the user's browser does: open the printed URL, consent, get redirected. (consent URL, redirected URL)"""
    url = next(word for word in printed.split() if "/oauth2/authorize?" in word)
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    return url, response.headers["location"]


def test_first_authorisation_end_to_end_then_the_pipeline_runs_on_the_stored_pair(
        authorize_env, warehouse, stores, capsys, fitbit_export, fitbit_health):
    server = authorize_env
    seen = {}

    def browser(prompt: str) -> str:
        seen["url"], redirected = consent(capsys.readouterr().out)
        return redirected

    assert fitbit_authorize.main([], input_fn=browser) == 0
    query = {k: v[0] for k, v in parse_qs(urlparse(seen["url"]).query).items()}
    assert query["client_id"] == server.sandbox.config.fitbit_client_id and query["response_type"] == "code"
    assert query["scope"] == "activity heartrate sleep weight profile" and query["redirect_uri"] == REDIRECT_URI
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43 and query["state"]
    out = capsys.readouterr()
    assert "Stored a new Fitbit token pair for user SANDBX" in out.out
    stored = stores.handle().read()
    assert stored.refresh_token in server.sandbox.fitbit_auth.refresh_tokens and stored.is_fresh()
    assert not any(token in out.out + out.err for token in issued_tokens(server))
    assert not fitbit_authorize.PENDING_PATH.exists(), "the PKCE verifier does not outlive the exchange"
    # the stored pair is what the pipeline runs on (its access token is fresh: no refresh needed)
    load()
    assert table_counts(warehouse) == full_counts(fitbit_export, fitbit_health)
    assert token_posts(server) == 1


def test_authorisation_in_two_steps_with_the_redirected_url_as_argument(authorize_env, tmp_path, capsys):
    def no_terminal(prompt: str) -> str:
        raise EOFError

    assert fitbit_authorize.main([], input_fn=no_terminal) == 0
    printed = capsys.readouterr().out
    assert "--code" in printed
    assert stat.S_IMODE(os.stat(fitbit_authorize.PENDING_PATH).st_mode) == 0o600
    _, redirected = consent(printed)
    assert "#_=_" in redirected, "Fitbit's fragment on the redirect is tolerated"
    assert fitbit_authorize.main(["--code", redirected]) == 0
    assert LocalFileTokenStore(tmp_path / "tokens" / "fitbit.json").read().user_id == "SANDBX"
    # the same redirect again: nothing pending any more
    assert fitbit_authorize.main(["--code", redirected]) == 1
    assert "no authorisation in progress" in capsys.readouterr().err


def test_authorisation_refuses_a_redirect_for_another_attempt(authorize_env, tmp_path, capsys):
    def tampered_browser(prompt: str) -> str:
        _, redirected = consent(capsys.readouterr().out)
        return redirected.replace("state=", "state=forged")

    assert fitbit_authorize.main([], input_fn=tampered_browser) == 1
    assert "state in that URL does not match" in capsys.readouterr().err
    assert LocalFileTokenStore(tmp_path / "tokens" / "fitbit.json").read() is None
    assert token_posts(authorize_env) == 0, "a forged redirect never reaches the token endpoint"


def test_an_authorization_code_works_once_and_only_with_its_verifier(authorize_env):
    config = authorize_env.sandbox.config
    verifier = "v" * 64
    query = {"client_id": config.fitbit_client_id, "response_type": "code", "scope": "sleep",
             "redirect_uri": REDIRECT_URI, "code_challenge": fitbit_authorize.pkce_challenge(verifier),
             "code_challenge_method": "S256", "state": "s"}
    base = authorize_env.fitbit_base_url

    def new_code() -> str:
        location = requests.get(f"{base}/oauth2/authorize", params=query, allow_redirects=False,
                                timeout=10).headers["location"]
        return parse_qs(urlparse(location).query)["code"][0]

    exchange = lambda code, v=verifier: exchange_authorization_code(  # noqa: E731
        base, config.fitbit_client_id, config.fitbit_client_secret, code, REDIRECT_URI, v)
    with pytest.raises(SourceError, match="invalid_grant"):
        exchange(new_code(), "w" * 64)  # the wrong verifier (and that code is now spent)
    code = new_code()
    assert exchange(code).user_id == "SANDBX"
    with pytest.raises(SourceError, match="refused the authorization code") as reused:
        exchange(code)
    assert code not in str(reused.value)

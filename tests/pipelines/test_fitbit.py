"""The Fitbit Web API source against the sandbox: counts, token rotation, the hourly budget, overlap with the export."""

from __future__ import annotations

import json

from pipelines.common.cli import run_source
from pipelines.fitbit import fitbit_source
from pipelines.fitbit_export import fitbit_export_source
from tests.pipelines.test_fitbit_export import TABLES, expected_counts, table_counts


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

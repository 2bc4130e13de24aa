"""The fault suite (issue 14, item 6): the sandbox's fault knobs against the real pipelines, each with its exact
outcome. Retries are short (tests/reliability/harness.py FAST_RETRIES: 3 attempts, ~no backoff), so a fault
queue of two per request is survivable and three is not.

- storms and bursts the retries absorb: raw tables identical to a clean run's, retries counted in the ledger;
- a fault that outlasts the retries: exit 1, one line naming status, reason and endpoint, a `failed` ledger row;
- a malformed body: the line names the endpoint it came from;
- slow answers: within the timeout nothing changes; past it the request is retried, then reported by endpoint.
"""

from __future__ import annotations

import pytest

from tests.reliability.conftest import source_env
from tests.reliability.harness import fingerprint, ledger_rows, run_in_process, warehouse_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference(small_sandbox, tmp_path_factory):
    """Fingerprints of clean runs of notion and hubspot against the module's sandbox."""
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        for source in ("notion", "hubspot"):
            folder = tmp_path_factory.mktemp(f"clean-{source}")
            for k, v in {**source_env(source, small_sandbox), **warehouse_env(folder)}.items():
                mp.setenv(k, v)
            assert run_in_process(source) == 0
            out[source] = fingerprint(folder / "warehouse.duckdb", source)
    small_sandbox.sandbox.traffic.reset()
    return out


@pytest.fixture
def run(small_sandbox, tmp_path, clean_env, capsys):
    """Run a source in this process against the module's sandbox; faults left over are cleared afterwards."""
    traffic = small_sandbox.sandbox.traffic

    def go(source: str, **env: str):
        for k, v in {**source_env(source, small_sandbox), **warehouse_env(tmp_path), **env}.items():
            clean_env.setenv(k, v)
        capsys.readouterr()
        code = run_in_process(source)
        out = capsys.readouterr()
        return code, out.out, out.err

    yield go
    traffic.clear_faults()
    for api in ("notion", "hubspot"):
        traffic.set_rate_limit(api, None)


def failed_line(source: str, err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith(f"[{source}] FAILED: ")]
    assert len(lines) == 1, err
    return lines[0]


def test_a_429_storm_is_waited_out_and_changes_nothing(run, small_sandbox, reference, tmp_path):
    # HubSpot's ten-secondly limit squeezed to 15 requests a second: the run keeps hitting 429 + Retry-After: 1
    small_sandbox.sandbox.traffic.set_rate_limit("hubspot", 15, window_seconds=1.0)
    code, out, err = run("hubspot", RUNTIME__REQUEST_MAX_ATTEMPTS="6", RUNTIME__REQUEST_MAX_RETRY_DELAY="1.5")
    assert code == 0, err
    assert fingerprint(tmp_path / "warehouse.duckdb", "hubspot") == reference["hubspot"]
    (row,) = ledger_rows(tmp_path / "warehouse.duckdb", "hubspot")
    assert row["status"] == "success" and row["api_retries"] > 0
    assert f"({row['api_retries']} answered 429/5xx and retried)" in out


def test_a_5xx_burst_is_retried_and_changes_nothing(run, small_sandbox, reference, tmp_path):
    burst = [500, 503, 200, 502, 200, 504, 500, 200, 503]
    small_sandbox.sandbox.traffic.inject("notion", burst)
    code, out, err = run("notion")
    assert code == 0, err
    assert fingerprint(tmp_path / "warehouse.duckdb", "notion") == reference["notion"]
    (row,) = ledger_rows(tmp_path / "warehouse.duckdb", "notion")
    assert row["status"] == "success" and row["api_retries"] == sum(s >= 500 for s in burst)


@pytest.mark.parametrize(("source", "endpoint", "step"), [
    ("notion", "/notion/v1/databases/", "setup"),  # the source discovers its databases while it is built
    ("hubspot", "/crm/v3/objects/contacts/search", "extract"),
])
def test_a_fault_that_outlasts_the_retries_fails_with_one_line_and_a_failed_row(
        run, small_sandbox, tmp_path, source, endpoint, step):
    small_sandbox.sandbox.traffic.inject(source, [503] * 3)
    code, out, err = run(source)
    assert code == 1
    line = failed_line(source, err)
    assert "503" in line and "Service Unavailable" in line and endpoint in line, line
    (row,) = ledger_rows(tmp_path / "warehouse.duckdb", source)
    assert row["status"] == "failed" and row["failed_step"] == step
    assert line == f"[{source}] FAILED: {row['error_summary']}"
    assert row["api_requests"] == 3 and row["api_retries"] == 3


@pytest.mark.parametrize(("source", "endpoint"), [
    ("notion", "/notion/v1/databases/"),
    ("hubspot", "/crm/v3/objects/contacts/search"),
])
def test_a_malformed_body_names_the_endpoint(run, small_sandbox, tmp_path, source, endpoint):
    small_sandbox.sandbox.traffic.inject_malformed(source, 1)
    code, out, err = run(source)
    assert code == 1
    line = failed_line(source, err)
    assert endpoint in line and "JSON" in line, line
    (row,) = ledger_rows(tmp_path / "warehouse.duckdb", source)
    assert row["status"] == "failed" and row["error_summary"] in line


def test_slow_answers_within_the_timeout_change_nothing_and_one_past_it_is_retried(
        run, small_sandbox, reference, tmp_path):
    traffic = small_sandbox.sandbox.traffic
    traffic.inject_delay("notion", 0.3, count=3)
    traffic.inject_delay("notion", 2.0, count=1)  # the 4th answer misses the 1 s timeout once
    code, out, err = run("notion", RUNTIME__REQUEST_TIMEOUT="1")
    assert code == 0, err
    assert fingerprint(tmp_path / "warehouse.duckdb", "notion") == reference["notion"]


def test_an_endpoint_that_never_answers_in_time_is_named(run, small_sandbox, tmp_path):
    small_sandbox.sandbox.traffic.inject_delay("notion", 1.5, count=3)
    code, out, err = run("notion", RUNTIME__REQUEST_TIMEOUT="0.5")
    assert code == 1
    line = failed_line("notion", err)
    assert "/notion/v1/databases/" in line and "0.5 s" in line, line
    (row,) = ledger_rows(tmp_path / "warehouse.duckdb", "notion")
    assert row["status"] == "failed"

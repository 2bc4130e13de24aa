"""The Pipeline page's ledger statuses and Rejected records panel, rendered with Streamlit's AppTest from marts built
by real Notion and HubSpot runs with planted bad records, a crashed and a running run (tests/fixtures/ops_warehouse)."""

from __future__ import annotations

import shutil

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO

APP = str(REPO / "dashboard" / "app.py")


@pytest.fixture
def ops_warehouse(ops_warehouse_built):
    """The session's ops warehouse (tests/fixtures/ops_warehouse.py): its path and what was planted."""
    return ops_warehouse_built["path"], ops_warehouse_built["planted"]


def pipeline_page(path, monkeypatch) -> AppTest:
    monkeypatch.setenv("DASHBOARD_WAREHOUSE_PATH", str(path))
    monkeypatch.setenv("PIPELINE_DESTINATION", "duckdb")
    st.cache_data.clear()  # another warehouse at the same path (the copy below) must not be served from cache
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    at.sidebar.radio(key="page").set_value("Pipeline").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_status_counts_show_crashed_and_running_runs_apart(ops_warehouse, monkeypatch):
    at = pipeline_page(ops_warehouse[0], monkeypatch)
    shown = metrics(at)
    # notion and hubspot succeeded once each; hubspot then crashed once and has a run in progress
    assert {k: shown[k] for k in ("Runs shown", "Succeeded", "Failed", "Crashed", "Running")} == {
        "Runs shown": "4", "Succeeded": "2", "Failed": "0", "Crashed": "1", "Running": "1"}
    assert len(at.get("plotly_chart")) == 1  # the browser test counts exactly one chart on this page
    health = at.dataframe[0].value.set_index("source_name")
    assert health.loc["hubspot", "last_run_status"] == "running"
    assert health.loc["hubspot", "failed_runs_since_success"] == 1


def test_rejected_records_panel_counts_and_lists_them_without_the_payload(ops_warehouse, monkeypatch):
    path, planted = ops_warehouse
    at = pipeline_page(path, monkeypatch)
    assert [s.value for s in at.subheader][-1] == "Rejected records"
    assert metrics(at)["Rejected records"] == "3"
    summary, latest = (d.value for d in at.dataframe[-2:])
    assert sorted(zip(summary["source_name"], summary["entity"], summary["records"], strict=True)) == [
        ("hubspot", "contacts", 1), ("hubspot", "engagements", 1), ("notion", "habit_pages", 1)]
    assert "updatedAt='31/02/2025 25:61' is not a timestamp" in set(summary["reason"])
    assert "payload" not in latest.columns
    listed = {(s, e, None if k is None or k != k else k, o)  # NaN (no key) reads as None
              for s, e, k, o in zip(latest["source_name"], latest["entity"], latest["record_key"], latest["origin"],
                                    strict=True)}
    assert listed == planted.rejected
    page_text = " ".join(str(v) for df in (summary, latest) for v in df.to_numpy().ravel())
    for marker in planted.payload_markers:  # a contact's email, in raw.hubspot__rejected's payload only
        assert marker not in page_text


def test_no_rejected_records_is_a_friendly_line(ops_warehouse, tmp_path, monkeypatch):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(ops_warehouse[0], copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute("delete from marts.rejected_records")  # the page reads the mart, not raw
    finally:
        con.close()
    at = pipeline_page(copy, monkeypatch)
    assert [s.value for s in at.subheader][-1] == "Rejected records"
    assert any(s.value.startswith("No rejected records") for s in at.success)
    assert "Rejected records" not in metrics(at)
    assert len(at.dataframe) == 3  # freshness, recency, runs: no rejected tables

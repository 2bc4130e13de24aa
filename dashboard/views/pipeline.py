"""Pipeline: pipeline freshness per source, data recency per table, recent runs (rows, duration, status, errors)
with counts per status, and the records the pipelines rejected.

Reads the marts only (pipeline_health, data_recency, fct_pipeline_runs, rejected_records), never the ledger in ops
nor the raw rejected tables (their payload is personal data; the mart has none).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data

RUN_COLUMNS = ["started_at", "source", "mode", "status", "total_rows", "duration_s", "api_requests", "api_retries",
               "failed_step", "error_summary", "mode_reason"]
RECENT_RUNS = 200
LATEST_REJECTED = 50
# the ledger's statuses (pipelines/common/run_ledger.py): crashed = died, closed by the next run; running = no outcome yet
STATUS_LABELS = {"success": "Succeeded", "failed": "Failed", "crashed": "Crashed", "running": "Running"}


def render() -> None:
    st.header("Pipeline runs")
    if data.has("pipeline_health"):
        st.subheader("Pipeline freshness: last successful load per source")
        st.dataframe(data.mart("pipeline_health"), hide_index=True, width="stretch")
    if data.has("data_recency"):
        st.subheader("Data recency: newest record per table")
        st.caption("How new the data is, not whether the pipeline runs: only ever a warning.")
        st.dataframe(data.mart("data_recency"), hide_index=True, width="stretch",
                     column_config={"latest_record_at": st.column_config.DatetimeColumn("newest record"),
                                    "hours_since_latest_record": st.column_config.NumberColumn("hours ago",
                                                                                               format="%.1f")})
    if data.has("fct_pipeline_runs"):
        _runs()
    else:
        st.info("No pipeline runs yet: fct_pipeline_runs appears after the first pipeline run and `make dbt-build`.")
    if data.has("rejected_records"):
        _rejected()


def _runs() -> None:
    runs = data.recent_runs(RECENT_RUNS).rename(columns={"source_name": "source", "run_mode": "mode",
                                                        "duration_seconds": "duration_s"})
    for col in ("started_at", "finished_at"):
        runs[col] = pd.to_datetime(runs[col], utc=True).dt.tz_localize(None)
    statuses = data.run_status_counts()
    cols = st.columns(2 + len(STATUS_LABELS))
    cols[0].metric("Runs shown", f"{len(runs):,}")
    cols[1].metric("Rows loaded", f"{runs['total_rows'].fillna(0).sum():,.0f}")
    for col, (status, label) in zip(cols[2:], STATUS_LABELS.items(), strict=True):
        col.metric(label, f"{statuses.get(status, 0):,}", help=f"runs with status {status}, all time")
    st.plotly_chart(charts.runs_timeline(runs), width="stretch")
    st.subheader("Recent runs")
    st.dataframe(runs[RUN_COLUMNS].head(50), hide_index=True, width="stretch",
                 column_config={"started_at": st.column_config.DatetimeColumn("started (UTC)"),
                                "duration_s": st.column_config.NumberColumn("seconds", format="%.1f"),
                                "total_rows": st.column_config.NumberColumn("rows")})


def _rejected() -> None:
    st.subheader("Rejected records")
    summary = data.rejected_summary()
    if summary.empty:
        st.success("No rejected records: every record the pipelines read was loaded.")
        return
    st.caption("Records a pipeline could not load, with the reason; the rest of their batch loaded. The records "
               "themselves stay in raw.<source>__rejected (personal data): look one up there by its key.")
    st.metric("Rejected records", f"{int(summary['records'].sum()):,}")
    st.dataframe(summary, hide_index=True, width="stretch",
                 column_config={"source_name": "source", "last_loaded_at": st.column_config.DatetimeColumn(
                     "last loaded (UTC)")})
    st.caption(f"Latest {LATEST_REJECTED} rejected records")
    latest = data.latest_rejected(LATEST_REJECTED)
    latest["loaded_at"] = pd.to_datetime(latest["loaded_at"], utc=True).dt.tz_localize(None)
    summary["last_loaded_at"] = pd.to_datetime(summary["last_loaded_at"], utc=True).dt.tz_localize(None)
    st.dataframe(latest, hide_index=True, width="stretch",
                 column_config={"loaded_at": st.column_config.DatetimeColumn("loaded (UTC)"), "source_name": "source",
                                "origin": "file or endpoint"})

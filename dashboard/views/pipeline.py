"""Pipeline: pipeline freshness per source, data recency per table, and recent runs (rows, duration, status, errors).

Reads the marts only (pipeline_health, data_recency, fct_pipeline_runs), never the ledger in ops.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data

RUN_COLUMNS = ["started_at", "source", "mode", "status", "total_rows", "duration_s", "api_requests", "api_retries",
               "failed_step", "error_summary", "mode_reason"]
RECENT_RUNS = 200


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
    if not data.has("fct_pipeline_runs"):
        st.info("No pipeline runs yet: fct_pipeline_runs appears after the first pipeline run and `make dbt-build`.")
        return
    runs = data.recent_runs(RECENT_RUNS).rename(columns={"source_name": "source", "run_mode": "mode",
                                                        "duration_seconds": "duration_s"})
    for col in ("started_at", "finished_at"):
        runs[col] = pd.to_datetime(runs[col], utc=True).dt.tz_localize(None)
    failed = runs[runs["status"] != "success"]
    a, b, c = st.columns(3)
    a.metric("Runs shown", f"{len(runs):,}")
    b.metric("Failed", f"{len(failed):,}")
    c.metric("Rows loaded", f"{runs['total_rows'].fillna(0).sum():,.0f}")
    st.plotly_chart(charts.runs_timeline(runs), width="stretch")
    st.subheader("Recent runs")
    st.dataframe(runs[RUN_COLUMNS].head(50), hide_index=True, width="stretch",
                 column_config={"started_at": st.column_config.DatetimeColumn("started (UTC)"),
                                "duration_s": st.column_config.NumberColumn("seconds", format="%.1f"),
                                "total_rows": st.column_config.NumberColumn("rows")})

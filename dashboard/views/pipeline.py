"""Pipeline: recent runs from the run ledger (rows, duration, status, errors)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data
from dashboard.warehouse import existing_tables, query

RUN_COLUMNS = ["started_at", "source", "mode", "status", "total_rows", "duration_s", "api_requests", "api_retries",
               "failed_step", "error_summary", "mode_reason"]


def render() -> None:
    st.header("Pipeline runs")
    if data.has("pipeline_health"):
        st.subheader("Per source")
        st.dataframe(data.mart("pipeline_health"), hide_index=True, width="stretch")
    if "pipeline_runs" not in existing_tables("ops"):
        st.info("No run ledger yet: it appears after the first pipeline run (`make demo`).")
        return
    runs = query('select * from "ops"."pipeline_runs" order by started_at desc limit 200')
    for col in ("started_at", "finished_at"):
        runs[col] = pd.to_datetime(runs[col], utc=True).dt.tz_localize(None)
    runs["duration_s"] = (runs["finished_at"] - runs["started_at"]).dt.total_seconds()
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

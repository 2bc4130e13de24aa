"""Pipeline: recent runs from the run ledger (rows, duration, status, errors)."""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.warehouse import existing_tables, query


def render() -> None:
    st.header("Pipeline runs")
    if data.has("pipeline_health"):
        st.subheader("Per source")
        st.dataframe(data.mart("pipeline_health"), hide_index=True, width="stretch")
    if "pipeline_runs" not in existing_tables("ops"):
        st.info("No run ledger yet: it appears after the first pipeline run (`make demo`).")
        return
    runs = query('select * from "ops"."pipeline_runs" order by started_at desc limit 50')
    st.subheader("Recent runs")
    st.dataframe(runs, hide_index=True, width="stretch")

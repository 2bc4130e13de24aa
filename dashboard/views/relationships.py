"""Relationships: who is most overdue for a touch, interactions per week by type, fading relationships."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data


def render() -> None:
    st.header("Relationships")
    if not data.has("contact_touchpoints"):
        st.info("No CRM marts yet: configure the HubSpot source (see README) and run `make dbt-build`.")
        return
    touch = data.mart("contact_touchpoints")
    days_col = next((c for c in touch.columns if c.startswith("days_since")), None)
    name_cols = [c for c in ("full_name", "contact_name", "email") if c in touch.columns]
    st.subheader("Most overdue for a touch")
    if days_col:
        st.dataframe(touch.sort_values(days_col, ascending=False).head(15), hide_index=True, width="stretch")
    fading_col = next((c for c in touch.columns if "fading" in c or "faded" in c), None)
    if fading_col:
        fading = touch[touch[fading_col].astype(bool)]
        st.metric("Fading relationships", f"{len(fading):,}")
        st.dataframe(fading[[*name_cols, *([days_col] if days_col else [])]], hide_index=True, width="stretch")
    if data.has("fct_engagements"):
        eng = data.mart("fct_engagements")
        ts_col = next((c for c in eng.columns if c.endswith("_at") or c.endswith("timestamp")), None)
        type_col = next((c for c in ("engagement_type", "type") if c in eng.columns), None)
        if ts_col and type_col:
            eng[ts_col] = pd.to_datetime(eng[ts_col], utc=True).dt.tz_localize(None)
            eng["week"] = eng[ts_col].dt.to_period("W-SUN").dt.start_time
            weekly = eng.groupby(["week", type_col], as_index=False).size()
            st.plotly_chart(charts.bars_by(weekly, "week", "size", type_col, "Interactions per week by type",
                                           "interactions"), width="stretch")

"""Relationships: who is most overdue for a touch, interactions per week by type, fading relationships."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data
from dashboard.views.filters import date_range

CONTACT_COLUMNS = {"full_name": st.column_config.TextColumn("contact"),
                   "company_name": st.column_config.TextColumn("company"),
                   "last_touch_at": st.column_config.DatetimeColumn("last touch", format="D MMM YYYY"),
                   "days_since_last_touch": st.column_config.NumberColumn("days since"),
                   "preferred_channel": st.column_config.TextColumn("usual channel"),
                   "touches_90d": st.column_config.NumberColumn("touches, 90 days"),
                   "touches_all_time": st.column_config.NumberColumn("touches, all time")}


def _contacts_table(df: pd.DataFrame) -> None:
    st.dataframe(df[list(CONTACT_COLUMNS)], hide_index=True, width="stretch", column_config=CONTACT_COLUMNS)


def render() -> None:
    st.header("Relationships")
    if not data.has("contact_touchpoints", "fct_engagements"):
        st.info("No CRM marts yet: configure the HubSpot source (see README) and run `make hubspot dbt-build`.")
        return
    touch = data.mart("contact_touchpoints")
    eng = data.mart("fct_engagements")
    if touch.empty:
        st.info("The CRM marts are empty.")
        return
    eng["engagement_at"] = pd.to_datetime(eng["engagement_at"], utc=True).dt.tz_localize(None)
    touched = touch[touch["days_since_last_touch"].notna()]
    fading = touch[touch["is_fading"].astype(bool)]

    a, b, c, d = st.columns(4)
    a.metric("Contacts", f"{len(touch):,}")
    b.metric("Fading (no touch in 90+ days)", f"{len(fading):,}")
    c.metric("Never touched", f"{len(touch) - len(touched):,}")
    d.metric("Median days since last touch", f"{touched['days_since_last_touch'].median():.0f}" if len(touched) else "-")

    st.subheader("Most overdue for a touch")
    _contacts_table(touched.sort_values("days_since_last_touch", ascending=False).head(15))

    st.subheader("Interactions per week")
    left, right = st.columns([2, 3])
    start, end = date_range(eng["engagement_at"], key="crm_range", container=left)
    types = sorted(eng["engagement_type"].dropna().unique())
    default = sorted(eng.loc[eng["is_touch"].astype(bool), "engagement_type"].unique()) or types
    chosen = right.multiselect("Interaction types", types, default=default, key="crm_types",
                               help="Calls, emails and meetings count as touches; notes and tasks do not.")
    shown = eng[(eng["engagement_at"].dt.date >= start) & (eng["engagement_at"].dt.date <= end)
                & eng["engagement_type"].isin(chosen)].copy()
    st.metric("Interactions in range", f"{len(shown):,}")
    shown["week"] = shown["engagement_at"].dt.to_period("W-SUN").dt.start_time
    weekly = shown.groupby(["week", "engagement_type"], as_index=False).size()
    st.plotly_chart(charts.bars_by(weekly, "week", "size", "engagement_type",
                                   "Interactions per week by type (weeks start Monday)", "interactions"),
                    width="stretch")

    st.subheader("Fading relationships")
    st.caption("Contacts you used to be in touch with and have not called, emailed or met for 90 days or more.")
    _contacts_table(fading.sort_values("days_since_last_touch", ascending=False))

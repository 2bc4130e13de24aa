"""Health: sleep against the goal, steps against the personal baseline band, resting heart rate, weight."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data


def render() -> None:
    st.header("Health")
    if not data.has("health_daily"):
        st.info("No health marts yet: import a Fitbit export (see README) and run `make dbt-build`.")
        return
    daily = data.mart("health_daily")
    date_col = "date_day" if "date_day" in daily.columns else daily.columns[0]
    daily[date_col] = pd.to_datetime(daily[date_col])
    # a full calendar so days without data are gaps in the lines, not zeros
    spine = pd.DataFrame({date_col: pd.date_range(daily[date_col].min(), daily[date_col].max(), freq="D")})
    daily = spine.merge(daily, on=date_col, how="left")
    if "sleep_minutes" in daily.columns and "sleep_hours" not in daily.columns:
        daily["sleep_hours"] = daily["sleep_minutes"] / 60
    if "sleep_hours" in daily.columns:
        goal = daily["sleep_goal_hours"].dropna().iloc[0] if "sleep_goal_hours" in daily.columns and daily["sleep_goal_hours"].notna().any() else 7.0
        st.plotly_chart(charts.daily_line(daily, date_col, "sleep_hours", "Sleep per night", "hours asleep", goal=goal),
                        width="stretch")
    if "steps" in daily.columns:
        band = None
        if data.has("activity_baseline"):
            base = data.mart("activity_baseline")
            bdate = "date_day" if "date_day" in base.columns else base.columns[0]
            base[bdate] = pd.to_datetime(base[bdate])
            base_col = next((c for c in ("rolling_28d_baseline", "baseline_steps_28d", "rolling_baseline_steps")
                             if c in base.columns), None)
            if base_col:
                base = base.rename(columns={bdate: date_col})[[date_col, base_col]]
                daily = daily.merge(base, on=date_col, how="left")
                daily["band_low"], daily["band_high"] = daily[base_col] * 0.8, daily[base_col] * 1.2
                band = ("band_low", "band_high")
        st.plotly_chart(charts.daily_line(daily, date_col, "steps", "Steps against your baseline (±20%)", "steps",
                                          band=band), width="stretch")
    for col, title, unit in (("resting_heart_rate", "Resting heart rate", "bpm"), ("weight_kg", "Weight", "kg")):
        if col in daily.columns:
            st.plotly_chart(charts.daily_line(daily, date_col, col, title, unit), width="stretch")

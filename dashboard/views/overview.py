"""Overview: freshness per source and headline numbers for the last 7 and 30 days."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data


def _window(df: pd.DataFrame, date_col: str, days: int, as_of: pd.Timestamp) -> pd.DataFrame:
    return df[df[date_col] > as_of - pd.Timedelta(days=days)]


def render() -> None:
    st.header("Overview")
    rows = []
    if data.has("pipeline_health"):
        health = data.mart("pipeline_health")
        st.subheader("Sources")
        st.dataframe(health[["source_name", "freshness_status", "last_success_at", "hours_since_success",
                             "last_success_rows", "last_run_status", "last_run_error"]],
                     hide_index=True, width="stretch",
                     column_config={"source_name": "source", "freshness_status": "freshness",
                                    "last_success_at": st.column_config.DatetimeColumn("last successful load"),
                                    "hours_since_success": st.column_config.NumberColumn("hours ago", format="%.1f"),
                                    "last_success_rows": "rows loaded", "last_run_status": "last run",
                                    "last_run_error": "error"})
    if data.has("fct_habit_logs", "dim_habit"):
        logs = data.habit_logs()
        as_of = logs["period_end_date"].max()
        for days in (7, 30):
            recent = _window(logs, "period_end_date", days, as_of)
            rows.append(("Habits", f"completion, last {days} days", f"{recent['is_completed'].mean():.0%}"))
        rows.append(("Habits", "latest logged day", f"{logs.loc[logs['is_logged'], 'period_start_date'].max():%d %b %Y}"))
    if data.has("health_daily"):
        hd = data.mart("health_daily")
        hd["date_day"] = pd.to_datetime(hd["date_day"])
        as_of = hd["date_day"].max()
        for days in (7, 30):
            recent = _window(hd, "date_day", days, as_of)
            rows.append(("Health", f"average steps, last {days} days", f"{recent['steps'].mean():,.0f}"))
            rows.append(("Health", f"sleep a night, last {days} days", f"{recent['sleep_hours'].mean():.1f} h"))
    if data.has("fct_engagements"):
        eng = data.mart("fct_engagements")
        eng = eng[eng["is_touch"].astype(bool)]
        eng["engagement_at"] = pd.to_datetime(eng["engagement_at"], utc=True).dt.tz_localize(None)
        as_of = eng["engagement_at"].max()
        for days in (7, 30):
            rows.append(("Relationships", f"touches, last {days} days",
                         f"{len(_window(eng, 'engagement_at', days, as_of)):,}"))
    if not rows:
        st.info("No marts yet. Run `make demo` (synthetic data) or load a source and `make dbt-build`.")
        return
    st.subheader("Headlines")
    for domain in dict.fromkeys(d for d, _, _ in rows):  # one row of metrics per domain, in page order
        items = [(label, value) for d, label, value in rows if d == domain]
        for col, (label, value) in zip(st.columns(4), items, strict=False):
            col.metric(f"{domain}: {label}", value)

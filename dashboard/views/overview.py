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
        st.dataframe(health, hide_index=True, width="stretch")
    if data.has("fct_habit_logs", "dim_habit"):
        logs = data.habit_logs()
        as_of = logs["period_end_date"].max()
        for days in (7, 30):
            recent = _window(logs, "period_end_date", days, as_of)
            rows.append(("Habits", f"completion, last {days} days", f"{recent['is_completed'].mean():.0%}"))
        rows.append(("Habits", "latest logged day", f"{logs.loc[logs['is_logged'], 'period_start_date'].max():%d %b %Y}"))
    if data.has("health_daily"):
        hd = data.mart("health_daily")
        date_col = "date_day" if "date_day" in hd.columns else hd.columns[0]
        hd[date_col] = pd.to_datetime(hd[date_col])
        as_of = hd[date_col].max()
        for days in (7, 30):
            recent = _window(hd, date_col, days, as_of)
            if "steps" in hd.columns:
                rows.append(("Health", f"average steps, last {days} days", f"{recent['steps'].mean():,.0f}"))
    if data.has("fct_engagements"):
        eng = data.mart("fct_engagements")
        ts_col = next((c for c in eng.columns if c.endswith("_at") or c.endswith("timestamp")), None)
        if ts_col:
            eng[ts_col] = pd.to_datetime(eng[ts_col], utc=True).dt.tz_localize(None)
            as_of = eng[ts_col].max()
            for days in (7, 30):
                rows.append(("Relationships", f"interactions, last {days} days",
                             f"{len(_window(eng, ts_col, days, as_of)):,}"))
    if not rows:
        st.info("No marts yet. Run `make demo` (synthetic data) or load a source and `make dbt-build`.")
        return
    st.subheader("Headlines")
    cols = st.columns(min(4, len(rows)))
    for i, (domain, label, value) in enumerate(rows):
        cols[i % len(cols)].metric(f"{domain}: {label}", value)

"""Habits: calendar heatmap, weekly trend per category, streak leaderboard, with date and category filters."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data
from dashboard.views.filters import date_range


def render() -> None:
    st.header("Habits")
    if not data.has("fct_habit_logs", "dim_habit", "habit_completion"):
        st.info("No habit marts yet: configure the Notion source (see README) and run `make notion dbt-build`.")
        return
    logs = data.habit_logs()
    completion = data.mart("habit_completion")
    if logs.empty:
        st.info("The habit marts are empty.")
        return
    left, right = st.columns([2, 3])
    start, end = date_range(logs["period_start_date"], key="habit_range", container=left)
    categories = sorted(completion["category"].unique())
    chosen = right.multiselect("Categories", categories, default=categories, key="habit_categories")
    in_range = logs[(logs["period_start_date"].dt.date >= start) & (logs["period_start_date"].dt.date <= end)
                    & logs["category"].isin(chosen)]

    a, b, c = st.columns(3)
    a.metric("Completion in range", f"{in_range['is_completed'].mean():.0%}" if len(in_range) else "-")
    b.metric("Habit periods in range", f"{len(in_range):,}")
    c.metric("Periods not logged", f"{(~in_range['is_logged']).sum():,}")

    daily = sorted(in_range.loc[in_range["frequency"] == "daily", "habit_name"].unique())
    if daily:
        habit = st.selectbox("Habit", daily, key="habit_calendar_habit")
        st.plotly_chart(charts.habit_calendar(in_range[in_range["habit_name"] == habit], habit),
                        width="stretch")
    st.plotly_chart(charts.weekly_trend(in_range), width="stretch")
    board = completion[completion["category"].isin(chosen)]
    st.plotly_chart(charts.streak_leaderboard(board), width="stretch")
    st.dataframe(board[["habit_name", "frequency", "category", "completion_rate_30d", "completion_rate_all_time",
                        "current_streak", "longest_streak"]].sort_values("current_streak", ascending=False),
                 hide_index=True, width="stretch",
                 column_config={"completion_rate_30d": st.column_config.NumberColumn("30-day", format="percent"),
                                "completion_rate_all_time": st.column_config.NumberColumn("all time", format="percent")})

"""Health: sleep against the goal, steps against the personal baseline band, resting heart rate, nightly HRV and
SpO2, weight; energy burned, active minutes, exercise sessions and the sleep score as figures. Every day is a local date (the marts' grain), whichever source (API, export) it came from."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data
from dashboard.views.filters import date_range


def _calendar(daily: pd.DataFrame) -> pd.DataFrame:
    """Every day between the first and the last, so days without data are gaps in the lines, never zeros."""
    spine = pd.DataFrame({"date_day": pd.date_range(daily["date_day"].min(), daily["date_day"].max(), freq="D")})
    return spine.merge(daily, on="date_day", how="left")


def _with_baseline(daily: pd.DataFrame) -> pd.DataFrame:
    """Adds the rolling 28-day baseline and a ±20 % band around it (from `activity_baseline`)."""
    if not data.has("activity_baseline"):
        return daily
    base = data.mart("activity_baseline")[["activity_date", "rolling_28d_baseline_steps", "baseline_steps"]]
    base = base.rename(columns={"activity_date": "date_day"})
    base["date_day"] = pd.to_datetime(base["date_day"])
    out = daily.merge(base, on="date_day", how="left")
    out["band_low"] = out["rolling_28d_baseline_steps"] * 0.8
    out["band_high"] = out["rolling_28d_baseline_steps"] * 1.2
    return out


def _main_sleep_efficiency() -> pd.DataFrame | None:
    if not data.has("fct_sleep_sessions"):
        return None
    sessions = data.mart("fct_sleep_sessions")
    main = sessions[sessions["is_main_sleep"].astype(bool)][["assigned_sleep_date", "efficiency"]]
    main = main.rename(columns={"assigned_sleep_date": "date_day"})
    main["date_day"] = pd.to_datetime(main["date_day"])
    return main.groupby("date_day", as_index=False)["efficiency"].mean()


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    """A column, or an empty series for marts built before it existed."""
    return df[name] if name in df.columns else pd.Series(dtype=float)


def _metric(value: float, fmt: str) -> str:
    return "-" if pd.isna(value) else format(value, fmt)


def render() -> None:
    st.header("Health")
    if not data.has("health_daily"):
        st.info("No health marts yet: import a Fitbit export or run the Fitbit pipeline (see README), "
                "then `make dbt-build`.")
        return
    daily = data.mart("health_daily")
    if daily.empty:
        st.info("The health marts are empty.")
        return
    daily["date_day"] = pd.to_datetime(daily["date_day"])
    start, end = date_range(daily["date_day"], key="health_range")
    daily = _calendar(daily)
    efficiency = _main_sleep_efficiency()
    if efficiency is not None:
        daily = daily.merge(efficiency, on="date_day", how="left")
    daily = _with_baseline(daily)
    shown = daily[(daily["date_day"].dt.date >= start) & (daily["date_day"].dt.date <= end)]

    sleep_goal = daily["sleep_goal_minutes"].dropna()
    goal_hours = float(sleep_goal.iloc[0]) / 60 if len(sleep_goal) else None
    a, b, c, d, e, f = st.columns(6)
    a.metric("Sleep a night", f"{_metric(shown['sleep_hours'].mean(), '.1f')} h")
    b.metric("Nights at sleep goal", _metric(shown["is_sleep_goal_met"].dropna().astype(float).mean(), ".0%"))
    c.metric("Steps a day", _metric(shown["steps"].mean(), ",.0f"))
    d.metric("Resting heart rate", f"{_metric(shown['resting_heart_rate'].mean(), '.1f')} bpm")
    e.metric("HRV (RMSSD)", f"{_metric(_column(shown, 'hrv_rmssd_ms').mean(), '.0f')} ms")
    f.metric("SpO2 a night", f"{_metric(_column(shown, 'spo2_avg_percent').mean(), '.1f')} %")
    g, h, i, j = st.columns(4)
    g.metric("Calories burned a day", f"{_metric(_column(shown, 'calories_kcal').mean(), ',.0f')} kcal")
    h.metric("Active minutes a day", _metric(_column(shown, "active_minutes").mean(), ".0f"),
             help="Very plus moderately active minutes (Fitbit's active minutes)")
    i.metric("Exercise sessions", _metric(_column(shown, "exercise_sessions").sum(), ",.0f"))
    j.metric("Sleep score", _metric(_column(shown, "sleep_score").mean(), ".0f"),
             help="Fitbit's sleep score (0-100) from the export's Sleep Score file")

    st.plotly_chart(charts.daily_line(shown, "date_day", "sleep_hours", "Sleep per night (assigned to the wake-up "
                                      "day's night)", "hours asleep", goal=goal_hours), width="stretch")
    if "efficiency" in shown.columns:
        st.plotly_chart(charts.daily_line(shown, "date_day", "efficiency", "Main sleep efficiency",
                                          "efficiency (%)", rolling_days=None), width="stretch")
    band = ("band_low", "band_high") if "band_low" in shown.columns else None
    st.plotly_chart(charts.daily_line(shown, "date_day", "steps", "Steps against your rolling 28-day baseline (±20%)",
                                      "steps", band=band), width="stretch")
    st.plotly_chart(charts.daily_line(shown, "date_day", "resting_heart_rate", "Resting heart rate", "bpm"),
                    width="stretch")
    if "hrv_rmssd_ms" in shown.columns:
        st.plotly_chart(charts.daily_line(shown, "date_day", "hrv_rmssd_ms", "Heart-rate variability during sleep "
                                          "(RMSSD, night ending that morning)", "ms"), width="stretch")
    if "spo2_avg_percent" in shown.columns:
        st.plotly_chart(charts.daily_line(shown, "date_day", "spo2_avg_percent", "Average SpO2 during sleep "
                                          "(night ending that morning)", "%"), width="stretch")
    st.plotly_chart(charts.daily_line(shown, "date_day", "weight_kg", "Weight (days without a weigh-in are gaps)",
                                      "kg", rolling_days=None), width="stretch")

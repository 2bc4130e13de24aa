"""Plotly figures for the dashboard: pure functions from DataFrames to figures (units, tooltips, gaps as gaps)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "height": 320, "hovermode": "x unified"}


def _empty(title: str, note: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, annotations=[{"text": note, "showarrow": False, "x": 0.5, "y": 0.5,
                                                "xref": "paper", "yref": "paper"}], **_LAYOUT)
    return fig


def habit_calendar(logs: pd.DataFrame, habit_name: str) -> go.Figure:
    """GitHub-style calendar: ISO week x weekday, green when done, grey when missed, blank when not logged."""
    title = f"{habit_name}: daily completion"
    if logs.empty:
        return _empty(title, "no days in this range")
    df = logs.copy()
    df["day"] = pd.to_datetime(df["period_start_date"])
    df["week"] = df["day"] - pd.to_timedelta(df["day"].dt.weekday, unit="D")
    df["weekday"] = df["day"].dt.day_name().str[:3]
    df["value"] = df["is_completed"].map({True: 1.0, False: 0.0}).where(df["is_logged"], None)
    grid = df.pivot_table(index="weekday", columns="week", values="value", aggfunc="max")
    grid = grid.reindex(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
    fig = go.Figure(go.Heatmap(
        z=grid.values, x=grid.columns, y=grid.index, zmin=0, zmax=1, xgap=2, ygap=2, showscale=False,
        colorscale=[[0, "#d0d4da"], [1, "#2e9e5b"]],
        hovertemplate="week of %{x|%d %b %Y}, %{y}: %{z:.0f} (1 = done, 0 = missed, blank = not logged)<extra></extra>"))
    fig.update_layout(title=title, **{**_LAYOUT, "height": 260, "hovermode": "closest"})
    fig.update_yaxes(autorange="reversed")
    return fig


def weekly_trend(logs: pd.DataFrame) -> go.Figure:
    """Share of habit periods completed per ISO week, one line per category."""
    title = "Weekly completion by category"
    if logs.empty:
        return _empty(title, "no habit periods in this range")
    df = logs.copy()
    day = pd.to_datetime(df["period_start_date"])
    df["week"] = day - pd.to_timedelta(day.dt.weekday, unit="D")
    trend = df.groupby(["week", "category"], as_index=False)["is_completed"].mean()
    fig = px.line(trend, x="week", y="is_completed", color="category", markers=True,
                  labels={"week": "ISO week (starting Monday)", "is_completed": "completed", "category": "category"})
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    fig.update_layout(title=title, **_LAYOUT)
    return fig


def streak_leaderboard(completion: pd.DataFrame) -> go.Figure:
    title = "Streaks (current vs longest, in the habit's own periods)"
    if completion.empty:
        return _empty(title, "no habits")
    df = completion.sort_values("current_streak")
    fig = go.Figure([
        go.Bar(y=df["habit_name"], x=df["longest_streak"], name="longest", orientation="h", marker_color="#c8d6e5"),
        go.Bar(y=df["habit_name"], x=df["current_streak"], name="current", orientation="h", marker_color="#2e86de"),
    ])
    fig.update_layout(title=title, barmode="overlay", xaxis_title="periods in a row",
                      **{**_LAYOUT, "height": 40 + 28 * len(df), "hovermode": "y unified"})
    return fig


def daily_line(df: pd.DataFrame, x: str, y: str, title: str, y_title: str, goal: float | None = None,
               band: tuple[str, str] | None = None, rolling_days: int | None = 7) -> go.Figure:
    """A daily series where missing days stay gaps (never zeros), its rolling mean, an optional goal line or band.

    `df` must hold one row per calendar day (missing days as NaN rows) so the rolling window counts days.
    """
    if df.empty or df[y].dropna().empty:
        return _empty(title, "no data in this range")
    data = df.sort_values(x)
    fig = go.Figure()
    if band:
        fig.add_trace(go.Scatter(x=data[x], y=data[band[1]], line={"width": 0}, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=data[x], y=data[band[0]], fill="tonexty", line={"width": 0},
                                 fillcolor="rgba(46,134,222,0.15)", name="baseline band", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=data[x], y=data[y], mode="lines+markers", connectgaps=False, name=y_title,
                             marker={"size": 4}))
    if rolling_days and data[y].notna().sum() > rolling_days:
        mean = data[y].rolling(rolling_days, min_periods=max(1, rolling_days // 2 + 1)).mean()
        fig.add_trace(go.Scatter(x=data[x], y=mean, mode="lines", connectgaps=False, line={"width": 3},
                                 name=f"{rolling_days}-day average"))
    if goal is not None:
        fig.add_hline(y=goal, line_dash="dash", line_color="#e67e22", annotation_text=f"goal {goal:g}")
    fig.update_layout(title=title, yaxis_title=y_title, **_LAYOUT)
    return fig


def bars_by(df: pd.DataFrame, x: str, y: str, color: str, title: str, y_title: str) -> go.Figure:
    if df.empty:
        return _empty(title, "no data in this range")
    fig = px.bar(df, x=x, y=y, color=color, labels={y: y_title, x: "", color: color})
    fig.update_layout(title=title, **_LAYOUT)
    return fig


def runs_timeline(runs: pd.DataFrame) -> go.Figure:
    """One marker per pipeline run: when it started, how long it took, coloured by status, sized by rows."""
    title = "Pipeline runs (duration per run)"
    if runs.empty:
        return _empty(title, "no runs yet")
    df = runs.assign(rows=runs["total_rows"].fillna(0), size=(runs["total_rows"].fillna(0) + 1) ** 0.25 * 4)
    fig = px.scatter(df, x="started_at", y="duration_s", color="status", symbol="source", size="size",
                     hover_data={"source": True, "mode": True, "rows": ":,", "size": False},
                     color_discrete_map={"success": "#2e9e5b", "failed": "#c0392b", "crashed": "#7d3c98",
                                         "running": "#d4a017"},
                     labels={"started_at": "started (UTC)", "duration_s": "seconds"})
    fig.update_layout(title=title, **{**_LAYOUT, "hovermode": "closest"})
    return fig

"""The dashboard's queries over the marts, cached for a short time so pages stay fast."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.warehouse import existing_tables, marts_schema, query, table, warehouse_key

TTL = 60


# every cached query takes the warehouse identity as an argument, so switching warehouses never serves stale data
@st.cache_data(ttl=TTL, show_spinner=False)
def _marts(key: str) -> set[str]:
    return existing_tables(marts_schema())


def marts() -> set[str]:
    return _marts(warehouse_key())


def has(*names: str) -> bool:
    return set(names) <= marts()


@st.cache_data(ttl=TTL, show_spinner=False)
def _mart(key: str, name: str) -> pd.DataFrame:
    return query(f"select * from {table(name)}")


def mart(name: str) -> pd.DataFrame:
    return _mart(warehouse_key(), name).copy()


def recent_runs(limit: int) -> pd.DataFrame:
    """The latest pipeline runs from the fct_pipeline_runs mart, newest first."""
    return _recent_runs(warehouse_key(), limit).copy()


@st.cache_data(ttl=TTL, show_spinner=False)
def _recent_runs(key: str, limit: int) -> pd.DataFrame:
    return query(f"select * from {table('fct_pipeline_runs')} order by started_at desc limit {int(limit)}")


def run_status_counts() -> dict[str, int]:
    """Runs per ledger status (success, failed, crashed, running) over every run in fct_pipeline_runs."""
    return dict(_run_status_counts(warehouse_key()))


@st.cache_data(ttl=TTL, show_spinner=False)
def _run_status_counts(key: str) -> list[tuple[str, int]]:
    df = query(f"select status, count(*) as runs from {table('fct_pipeline_runs')} group by status")
    return [(str(s), int(n)) for s, n in zip(df["status"], df["runs"], strict=True)]


def rejected_summary() -> pd.DataFrame:
    """Rejected records per source, entity and reason (from the rejected_records mart: no payload there)."""
    return _rejected_summary(warehouse_key()).copy()


@st.cache_data(ttl=TTL, show_spinner=False)
def _rejected_summary(key: str) -> pd.DataFrame:
    return query(f"""
        select source_name, entity, reason, count(*) as records, max(loaded_at) as last_loaded_at
        from {table('rejected_records')}
        group by source_name, entity, reason
        order by records desc, source_name, entity, reason
    """)


def latest_rejected(limit: int) -> pd.DataFrame:
    """The most recently loaded rejected records, newest first, without their payload."""
    return _latest_rejected(warehouse_key(), limit).copy()


@st.cache_data(ttl=TTL, show_spinner=False)
def _latest_rejected(key: str, limit: int) -> pd.DataFrame:
    return query(f"select loaded_at, source_name, entity, record_key, reason, origin from {table('rejected_records')} "
                 f"order by loaded_at desc, source_name, entity, record_key limit {int(limit)}")


def habit_logs() -> pd.DataFrame:
    return _habit_logs(warehouse_key()).copy()


@st.cache_data(ttl=TTL, show_spinner=False)
def _habit_logs(key: str) -> pd.DataFrame:
    df = query(f"""
        select l.habit_id, h.habit_name, h.category, l.frequency, l.period_start_date, l.period_end_date,
               l.is_logged, l.is_completed
        from {table('fct_habit_logs')} as l
        inner join {table('dim_habit')} as h on l.habit_id = h.habit_id
    """)
    for col in ("period_start_date", "period_end_date"):
        df[col] = pd.to_datetime(df[col])
    return df


def data_origin() -> str | None:
    if not has("warehouse_info"):
        return None
    df = mart("warehouse_info")
    return None if df.empty else str(df["data_origin"].iloc[0])

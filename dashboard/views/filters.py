"""Filters shared by the pages."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st


def date_range(days: pd.Series, key: str, default_days: int = 180, container=st) -> tuple[date, date]:
    """A date-range picker over the data's own span, defaulting to its last `default_days` days."""
    first, last = days.min().date(), days.max().date()
    picked = container.date_input("Date range", value=(max(first, last - timedelta(days=default_days)), last),
                                  min_value=first, max_value=last, key=key)
    # while the user has picked only the first end of a range, Streamlit returns a 1-tuple
    return (picked[0], picked[1]) if isinstance(picked, tuple) and len(picked) == 2 else (first, last)

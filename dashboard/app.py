"""`make dashboard`: the Streamlit app over the marts, one page per domain."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `streamlit run` puts only this folder on the path

import streamlit as st  # noqa: E402

from dashboard import data  # noqa: E402
from dashboard.views import habits, health, overview, pipeline, relationships  # noqa: E402
from dashboard.warehouse import WarehouseBusy, WarehouseMissing  # noqa: E402

PAGES = {"Overview": overview.render, "Habits": habits.render, "Health": health.render,
         "Relationships": relationships.render, "Pipeline": pipeline.render}

st.set_page_config(page_title="Personal data", page_icon="📈", layout="wide")
page = st.sidebar.radio("Page", list(PAGES), key="page")
st.sidebar.caption("Reads the marts only. Data refreshes every minute.")
try:
    origin = data.data_origin()
    if origin and "synthetic" in origin.lower():
        st.warning("Synthetic data: everything shown comes from the local sandbox's generated person, "
                   "not a real account.", icon="🧪")
    PAGES[page]()
except WarehouseBusy as exc:
    st.warning(f"Warehouse busy, retrying: {exc}", icon="⏳")
    st.button("Retry now")
except WarehouseMissing as exc:
    st.info(str(exc))

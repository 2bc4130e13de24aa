"""Streamlit dashboard over the marts (never raw or staging)."""

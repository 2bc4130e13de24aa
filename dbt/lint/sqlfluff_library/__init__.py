"""Lint-only stand-ins for dbt's Jinja context (sqlfluff's jinja templater; no dbt templater offline)."""

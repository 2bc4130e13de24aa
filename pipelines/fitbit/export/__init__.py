"""The Fitbit / Google Takeout export import -> raw.fitbit_export__* (`python -m pipelines.fitbit_export`)."""

from pipelines.fitbit.export.source import SOURCE, fitbit_export_source, main

__all__ = ["SOURCE", "fitbit_export_source", "main"]

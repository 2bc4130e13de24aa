"""Everything Fitbit: the API source (`python -m pipelines.fitbit`), the Takeout export import
(`python -m pipelines.fitbit_export`, code in `export/`), token stores and the first authorisation."""

from pipelines.fitbit.source import fitbit_source

__all__ = ["fitbit_source"]

"""Everything Fitbit: the Google Health API source (`python -m pipelines.fitbit`; the Fitbit Web API it replaced
answers 410 since 2026-11-02), the Takeout export import (`python -m pipelines.fitbit_export`, code in
`export/`), token stores and the first consent with Google (`python -m pipelines.fitbit.authorize`)."""

from pipelines.fitbit.source import fitbit_source

__all__ = ["fitbit_source"]

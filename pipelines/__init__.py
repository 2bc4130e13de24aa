"""dlt sources, one module per system, each runnable as `python -m pipelines.<source>`."""

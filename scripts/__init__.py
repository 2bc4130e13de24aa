"""Operator tools: the demo, first authorisations, pushing secrets, benchmarks."""

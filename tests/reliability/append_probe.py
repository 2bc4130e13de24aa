"""An appended source for tests/reliability/test_crash_convergence.py: 100 + 50 rows once (its state remembers),
nothing on later runs. Run as a script: `python tests/reliability/append_probe.py`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import dlt  # noqa: E402

from pipelines.common import cli  # noqa: E402


def _once(rows: list[dict]):
    state = dlt.current.resource_state()
    if not state.get("done"):
        state["done"] = True
        yield rows


@dlt.source(name="appendprobe")
def append_probe():
    events = dlt.resource(_once([{"id": i, "v": f"x{i}"} for i in range(100)]), name="appendprobe__events",
                          write_disposition="append")
    more = dlt.resource(_once([{"id": i} for i in range(50)]), name="appendprobe__more", write_disposition="append")
    return events, more


if __name__ == "__main__":
    sys.exit(cli.main("appendprobe", append_probe, []))

"""`make demo`'s load step (scripts/demo.py), where a test of the walkthrough cannot reach: its threads."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# a fresh interpreter, as `make demo` is: the suite's own process imported pandas long ago. The writer and the
# pipelines are stubbed; what is checked is the state of the process when the writer's thread starts.
PROBE = textwrap.dedent("""
    import sys
    from datetime import date
    from types import SimpleNamespace

    import scripts.demo as demo

    assert "pandas" not in sys.modules, "the probe needs a process that has not imported pandas yet"
    seen = {}

    def write_export(fitbit, folder):
        pandas = sys.modules.get("pandas")
        seen["pandas"] = pandas is not None and hasattr(pandas, "DataFrame")
        return SimpleNamespace(path=folder)

    demo.write_export = write_export
    demo.SOURCES = []
    demo.run_source = lambda name, source: SimpleNamespace(render=lambda: name)
    server = SimpleNamespace(pipeline_env=dict, sandbox=SimpleNamespace(
        config=SimpleNamespace(life=SimpleNamespace(end=date(2025, 12, 31))), fitbit=None))
    demo.load_all_sources(server, __import__("pathlib").Path(sys.argv[1]))
    print(seen["pandas"])
""")


def test_the_export_writer_thread_starts_after_pandas_is_imported(tmp_path):
    """pyarrow and DuckDB import pandas on first use, and dlt tells a DataFrame by the pandas in sys.modules: when
    the writer's thread was the first to import it, Notion's extract met a half-built pandas and the demo failed
    ("partially initialized module 'pandas' has no attribute 'DataFrame'"), now and then, by timing."""
    result = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "True", "the writer's thread started before pandas was imported"

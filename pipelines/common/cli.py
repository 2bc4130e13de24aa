"""The command line of every source (`python -m pipelines.<source>`): flags in, one run, a report or one line out.

Everything the run prints (the report, the failure line, dlt's and our log lines, a source's own prints)
goes through the redacting streams of pipelines.common.redaction.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from dlt.extract.source import DltSource

from pipelines.common.errors import one_line_error
from pipelines.common.redaction import redacted_output
from pipelines.common.runner import run_source


def not_a_streamlit_app() -> None:
    """For a process that loads and is not the dashboard: dlt, finding no .dlt/secrets.toml (a fresh clone, or a
    scheduled run with its secrets in the environment), looks for Streamlit's secrets, and that imports streamlit
    and plotly: 1.2 s of every pipeline process here, for secrets that exist only inside a running Streamlit app.
    Marking streamlit absent makes dlt's lookup end at once (its `except Exception` takes the ImportError)."""
    if "streamlit" not in sys.modules:
        sys.modules["streamlit"] = None  # type: ignore[assignment]


def main(source_name: str, build_source: Callable[[], DltSource], argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m pipelines.{source_name}",
                                     description=f"Load {source_name} into the raw dataset.")
    parser.add_argument("--full-refresh", action="store_true",
                        help=f"drop this source's tables and state and reload everything "
                             f"(also {source_name.upper()}_FULL_REFRESH=true or FORCE_FULL_REFRESH=true)")
    args = parser.parse_args(argv)
    not_a_streamlit_app()
    with redacted_output():
        try:
            report = run_source(source_name, build_source, args.full_refresh)
        except KeyboardInterrupt:
            print(f"[{source_name}] INTERRUPTED: the next run finishes what this one left pending", file=sys.stderr)
            return 130
        except Exception as exc:  # noqa: BLE001 - the CLI's job is to turn any failure into one clear line
            print(f"[{source_name}] FAILED: {one_line_error(exc)}", file=sys.stderr)
            return 1
        print(report.render())
    return 0

"""`make sandbox-export`: the sandbox person's Fitbit data as a Google Takeout export folder, to try the import on.

Writes the same synthetic life `make sandbox` serves (seed 42, a year ending yesterday) with the sandbox's own
writer (sandbox/fitbit_export.py) into data/sandbox-export/ (or `--dest`), marks it synthetic, and prints
its path and the command that imports it. The marker file makes every import of it a sandbox run: the
warehouse guard keeps it out of a warehouse that holds your real data.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pipelines.common.settings import REPO_ROOT
from pipelines.common.warehouse_guard import SYNTHETIC_EXPORT_MARKER
from sandbox.app import SYNTHETIC_NOTICE
from sandbox.fitbit_data import generate_health
from sandbox.fitbit_export import write_export
from sandbox.life import LifeConfig, SyntheticLife

DEFAULT_DEST = REPO_ROOT / "data" / "sandbox-export"


def write_sandbox_export(dest: Path, seed: int = 42, days: int = 365, heart_rate_interval: int = 4) -> Path:
    """A fresh synthetic Takeout export folder at `dest` (replaced if it exists), marked synthetic."""
    if dest.exists():
        shutil.rmtree(dest)
    life = SyntheticLife(LifeConfig.ending_yesterday(seed=seed, days=days))
    manifest = write_export(generate_health(life, heart_rate_interval=heart_rate_interval), dest)
    (dest / SYNTHETIC_EXPORT_MARKER).write_text(f"{SYNTHETIC_NOTICE}\nWritten by `make sandbox-export`.\n")
    return manifest.path


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.sandbox_export", description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--heart-rate-interval", type=int, default=4,
                        help="mean seconds between heart-rate samples (4: ~7.5 M a year, like a real tracker)")
    args = parser.parse_args(argv)
    path = write_sandbox_export(args.dest.resolve(), args.seed, args.days, args.heart_rate_interval)
    print(f"synthetic Fitbit export ({SYNTHETIC_NOTICE}) written to:\n{path}")
    print(f"import it into a sandbox warehouse, never your real one:\n"
          f"  WAREHOUSE_PATH=data/sandbox.duckdb make fitbit-export EXPORT={_shown(path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

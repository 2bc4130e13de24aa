"""Keep dbt's partial parsing warm across the suite's many dbt calls.

dbt re-parses the whole project (about 14 s of CPU here) whenever its profile, its vars or its target folder's
`partial_parse.msgpack` change, and the DuckDB profile holds the warehouse path. Every test builds its own temp
warehouse, so every dbt call of the suite was a full parse. Two measures, both outside dbt's own checks:

- the warehouse is reached through a per-worker directory link whose path never changes (`<link>/<file name>`),
  so the profile dbt hashes is the same from test to test while the data stays in the test's own folder;
- a target folder without a parse state starts from the last state of a call with the same profile and vars.

dbt still compares project files, vars, profile, env vars and its version against that state and re-parses
whatever differs, so a stale seed costs a full parse, never a wrong manifest.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from scripts.dbt_build import option_value

REPO = Path(__file__).resolve().parents[1]
STATE = "partial_parse.msgpack"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _link_root() -> Path:
    """Constant for the life of this process (a worker), distinct per process: two sessions at once never swap
    each other's link. A new session therefore parses once per worker, then partially."""
    return Path(tempfile.gettempdir()) / f"personal-data-dbt-{os.getpid()}"


def _seed_dir() -> Path:
    return REPO / "dbt" / "target" / f"pytest-{_worker()}-parse-states"


def _linked_warehouse(path: str) -> str:
    """`path` as seen through this worker's link: `<link>/warehouse/<file name>` -> the file's own folder."""
    real = Path(path).resolve()
    root = _link_root()
    if not root.exists():
        root.mkdir(parents=True)
        atexit.register(shutil.rmtree, root, True)  # only the link lives there, never data
    link, tmp = root / "warehouse", root / f"warehouse.{os.getpid()}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(real.parent, target_is_directory=True)
    os.replace(tmp, link)  # atomic: a link that points elsewhere is swapped, never missing
    return str(link / real.name)


@contextmanager
def warm_dbt(args: Sequence[str], env: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """The environment to run `dbt *args` in, with the stable warehouse path and a seeded parse state."""
    env = dict(env)
    if env.get("PYTEST_DBT_COLD"):  # every call parses from scratch, as dbt does on its own (for comparisons)
        yield env
        return
    if env.get("WAREHOUSE_PATH"):
        env["WAREHOUSE_PATH"] = _linked_warehouse(env["WAREHOUSE_PATH"])
    target = Path(option_value(args, "--target-path") or env.get("DBT_TARGET_PATH") or REPO / "dbt" / "target")
    profile = (option_value(args, "--target") or env.get("DBT_TARGET", "dev"), env.get("WAREHOUSE_PATH", ""),
               env.get("POSTGRES_PORT", ""), env.get("BQEMU_PORT", ""), env.get("RAW_DATASET", ""),
               env.get("OPS_DATASET", ""), option_value(args, "--vars") or "")
    seed = _seed_dir() / hashlib.sha1(repr(profile).encode()).hexdigest()[:16] / STATE
    state = target / STATE
    if not state.exists() and seed.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(seed, state)
    try:
        yield env
    finally:
        if state.exists():
            seed.parent.mkdir(parents=True, exist_ok=True)
            tmp = seed.with_suffix(f".{os.getpid()}.tmp")
            shutil.copyfile(state, tmp)
            os.replace(tmp, seed)

"""Where pipelines load: destination, raw dataset, DuckDB file and dlt's local working directory.

Also the two things that must hold before dlt reads any configuration: its TOML files parse (an error
names the file and line), and no environment variable switches dlt's own dev mode / refresh on (our full
refresh is resolved in full_refresh.py, never by dlt reading `FULL_REFRESH` from the environment).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tomllib
from pathlib import Path

import dlt
import tomlkit

REPO_ROOT = Path(__file__).resolve().parents[2]
DESTINATIONS = ("duckdb", "bigquery", "postgres")
# Native google-auth credentials for the bigquery destination, for code that already holds some (the
# tests' BigQuery emulator sets a static token here). None: dlt resolves them from config, env or Secret Manager.
BIGQUERY_CREDENTIALS = None


def destination_name() -> str:
    """`PIPELINE_DESTINATION` picks the destination: duckdb (default), bigquery or postgres."""
    name = os.environ.get("PIPELINE_DESTINATION", "duckdb").strip().lower()
    if name not in DESTINATIONS:
        raise ValueError(f"PIPELINE_DESTINATION={name!r} is not one of {', '.join(DESTINATIONS)}")
    return name


def warehouse_path() -> Path:
    """The local DuckDB warehouse (`WAREHOUSE_PATH`, default data/warehouse.duckdb)."""
    return Path(os.environ.get("WAREHOUSE_PATH", REPO_ROOT / "data" / "warehouse.duckdb")).resolve()


def raw_dataset() -> str:
    return os.environ.get("RAW_DATASET", "raw")


def pipelines_dir() -> Path:
    """dlt's local state/trace folder, one per warehouse so two warehouses never share a cursor."""
    if os.environ.get("PIPELINES_DIR"):
        return Path(os.environ["PIPELINES_DIR"]).resolve()
    dest = destination_name()
    if dest == "duckdb":
        key = hashlib.sha1(str(warehouse_path()).encode()).hexdigest()[:10]
        return REPO_ROOT / ".dlt" / "pipelines" / f"duckdb-{key}"
    return REPO_ROOT / ".dlt" / "pipelines" / dest


def destination():
    dest = destination_name()
    if dest == "duckdb":
        warehouse_path().parent.mkdir(parents=True, exist_ok=True)
        return dlt.destinations.duckdb(credentials=str(warehouse_path()))
    if dest == "bigquery" and BIGQUERY_CREDENTIALS is not None:
        return dlt.destinations.bigquery(credentials=BIGQUERY_CREDENTIALS)
    return dest  # bigquery/postgres credentials come from dlt config, env or Secret Manager


def loader_file_format() -> str | None:
    """The files dlt writes for the destination to load: Parquet on DuckDB, the destination's default elsewhere.

    dlt's DuckDB default is one large INSERT ... VALUES statement per file, which DuckDB must parse; dlt's
    DuckDB docs suggest Parquet when pyarrow is installed, as it is here. Measured side by side, the HubSpot,
    Notion and Health API test files (66 tests, each loading a synthetic year) used 351 s of CPU with
    INSERT VALUES and 295 s with Parquet. Arrow resources (the Takeout import) write Parquet whatever this
    says. BigQuery keeps JSONL (its nested columns) and Postgres INSERT VALUES (it cannot load Parquet).
    """
    return "parquet" if destination_name() == "duckdb" else None


def make_pipeline(source_name: str) -> dlt.Pipeline:
    scrub_dlt_mode_env()
    return dlt.pipeline(
        pipeline_name=source_name,
        destination=destination(),
        dataset_name=raw_dataset(),
        pipelines_dir=str(pipelines_dir()),
        progress="log" if os.environ.get("PIPELINE_PROGRESS") else None,
        # explicit values: dlt never resolves these from config or env (None skips the lookup), so the dataset
        # is always `raw` and a full refresh is only ever our own `refresh="drop_sources"` in run_source
        dev_mode=False,
        full_refresh=None,
        refresh=None,
    )


# dlt reads these as pipeline options from the environment: FULL_REFRESH (deprecated dev mode) and DEV_MODE load
# into a new timestamped dataset `raw_<timestamp>`, REFRESH drops data of every pipeline (the run ledger's too)
_DLT_MODE_ENV = re.compile(r"^(PIPELINES__([A-Z0-9_]+__)?)?(FULL_REFRESH|DEV_MODE|REFRESH)$", re.I)


def scrub_dlt_mode_env() -> list[str]:
    """Removes dlt's dev-mode/refresh variables from this process's environment; returns the names removed.

    `make notion FULL_REFRESH=1` once exported FULL_REFRESH=1 to the pipeline, dlt read it as `full_refresh`
    (dev mode) and loaded into `raw_<timestamp>`. Our full refresh comes from --full-refresh,
    `<SOURCE>_FULL_REFRESH` or `FORCE_FULL_REFRESH` (full_refresh.py) and is dlt's `refresh="drop_sources"`.
    """
    removed = sorted(name for name in os.environ if _DLT_MODE_ENV.match(name))
    for name in removed:
        value = os.environ.pop(name)
        print(f"note: ignoring {name}={value} from the environment (dlt would read it as its own dev mode or "
              f"refresh and load into another dataset); for a full refresh use --full-refresh, "
              f"<SOURCE>_FULL_REFRESH=1 or FORCE_FULL_REFRESH=1", file=sys.stderr)
    return removed


class ConfigFileError(ValueError):
    """A dlt TOML file does not parse; the message names the file and line (dlt's own error names neither)."""


def dlt_settings_dir() -> Path:
    """dlt's project settings folder (`./.dlt`, or `$DLT_PROJECT_DIR/.dlt`), found without loading its files."""
    from dlt.common.runtime.run_context import RunContext

    return Path(RunContext(None).settings_dir).resolve()


def config_files() -> list[Path]:
    """The TOML files dlt reads, in its order: `<project>/.dlt/secrets.toml`, `config.toml`, then the global ones."""
    from dlt.common.runtime.run_context import RunContext

    # dlt's own run context would load (and fail on) these very files: ask the plain one for the folders
    context = RunContext(None)
    return [Path(folder) / name for folder in (context.settings_dir, context.global_dir)
            for name in ("secrets.toml", "config.toml")]


def check_config_files(paths: list[Path] | None = None) -> None:
    """Raises ConfigFileError naming the file and line of the first TOML file that does not parse."""
    for path in paths if paths is not None else config_files():
        try:
            text = path.read_text()
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise ConfigFileError(f"cannot read {_shown(path)}: {exc}") from exc
        try:
            tomllib.loads(text)
            tomlkit.parse(text)  # what dlt parses with: stricter about some repeated tables
        except Exception as exc:  # noqa: BLE001 - tomllib and tomlkit raise several error types
            raise ConfigFileError(f"{_shown(path)} is not valid TOML: {_toml_problem(text, exc)}") from exc


def _toml_problem(text: str, exc: Exception) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "line" not in message:
        try:  # tomlkit's KeyAlreadyPresent has no line: tomllib says where, when it sees the same problem
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as located:
            message = f"{message} ({str(located).split('(', 1)[-1]}" if "(" in str(located) else message
    if "already exists" in message or "twice" in message:
        message += ("; a [table] may appear only once per file: add the keys under the existing table "
                    "instead of appending a second header")
    return message


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())

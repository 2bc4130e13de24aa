"""Every pipeline's load step from one sandbox, shared by the destination tests (Postgres, BigQuery emulator)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pipelines.common.runner import RunReport, run_source
from sandbox.fitbit_export import write_export
from sandbox.server import SandboxServer
from tests.fixtures.reference_warehouse import API_DAYS, reference_sandbox

# the suite's reference warehouse's sandbox year, sparse heart rate and API days: what every destination loads
FITBIT_API_DAYS = API_DAYS


@dataclass(frozen=True)
class SourceLoader:
    """One pipeline's load step.

    `pipeline` is the dlt pipeline name; `dbt_source` the dbt source its tables are declared in. Each
    pipeline owns its raw tables: the Takeout export writes the dbt source `fitbit_export`, the Google
    Health API source (pipeline `fitbit`) the dbt source `google_health`; staging unions them.
    """

    pipeline: str
    dbt_source: str
    load: Callable[[SandboxServer, Path], RunReport]


def destination_sandbox() -> SandboxServer:
    """The fixed test year, with sparse heart rate; not started. The reference warehouse's sandbox: the same data."""
    return reference_sandbox()


def pipeline_env(sandbox: SandboxServer, workdir: Path) -> dict[str, str]:
    """Every pipeline pointed at the sandbox. One Fitbit token store per sandbox: its refresh tokens are
    single-use, so every destination's load refreshes from the pair the previous load saved."""
    life = sandbox.sandbox.config.life
    return {
        **sandbox.pipeline_env(),
        "SOURCES__FITBIT__TOKEN_STORE_PATH": str(workdir / "fitbit_tokens.json"),
        "SOURCES__FITBIT__START_DATE": (life.end - timedelta(days=FITBIT_API_DAYS - 1)).isoformat(),
    }


def load_notion(sandbox: SandboxServer, workdir: Path) -> RunReport:
    from pipelines.notion import notion_source

    return run_source("notion", notion_source)


def load_hubspot(sandbox: SandboxServer, workdir: Path) -> RunReport:
    from pipelines.hubspot import hubspot_source

    return run_source("hubspot", hubspot_source)


def load_fitbit_export(sandbox: SandboxServer, workdir: Path) -> RunReport:
    """The sandbox person's Takeout export, written once per sandbox and imported into each destination."""
    from pipelines.fitbit.export import fitbit_export_source

    export = workdir / "fitbit_export"
    if not export.exists():
        write_export(sandbox.sandbox.fitbit, export)
    return run_source("fitbit_export", lambda: fitbit_export_source(path=str(export)))


def load_fitbit_api(sandbox: SandboxServer, workdir: Path) -> RunReport:
    from pipelines.fitbit import fitbit_source

    return run_source("fitbit", fitbit_source)


# add a pipeline here when it lands; the marts its dbt source feeds are then built and compared too
LOADERS = [
    SourceLoader("notion", "notion", load_notion),
    SourceLoader("hubspot", "hubspot", load_hubspot),
    SourceLoader("fitbit_export", "fitbit_export", load_fitbit_export),
    SourceLoader("fitbit", "google_health", load_fitbit_api),
]
DBT_SOURCES = {loader.dbt_source for loader in LOADERS}


def load_all(sandbox: SandboxServer, workdir: Path) -> dict[str, RunReport]:
    """Pipeline name -> its run report, loaded in LOADERS order into the configured destination."""
    return {loader.pipeline: loader.load(sandbox, workdir) for loader in LOADERS}

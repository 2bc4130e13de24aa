"""Decides incremental vs full refresh, in one place: argument, `<SOURCE>_FULL_REFRESH`, `FORCE_FULL_REFRESH`."""

from __future__ import annotations

import os
from dataclasses import dataclass

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class RunMode:
    full_refresh: bool
    reason: str

    def __str__(self) -> str:
        return f"{'full refresh' if self.full_refresh else 'incremental'} ({self.reason})"


def resolve_mode(source: str, full_refresh_arg: bool = False) -> RunMode:
    if full_refresh_arg:
        return RunMode(True, "--full-refresh given")
    var = f"{source.upper()}_FULL_REFRESH"
    if os.environ.get(var, "").strip().lower() in _TRUE:
        return RunMode(True, f"{var}={os.environ[var]}")
    if os.environ.get("FORCE_FULL_REFRESH", "").strip().lower() in _TRUE:
        return RunMode(True, f"FORCE_FULL_REFRESH={os.environ['FORCE_FULL_REFRESH']}")
    return RunMode(False, "default: load what changed since the last run")

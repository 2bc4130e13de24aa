"""Compares dbt marts across destinations: which nodes to build for the loaded sources, and a normalised table diff."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path


def ignored(column: str) -> bool:
    """dlt bookkeeping, load and build times legitimately differ between two runs over the same data."""
    return column.startswith("_dlt") or column.endswith(("loaded_at", "built_at"))


def load_manifest(target_path: Path) -> dict:
    return json.loads((target_path / "manifest.json").read_text())


def unit_tests_run(target_path: Path) -> list[str]:
    """Names of the dbt unit tests a build ran (from its run_results.json), whatever their status."""
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    return [r["unique_id"] for r in results if r["unique_id"].startswith("unit_test.")]


def upstream_sources(manifest: dict) -> dict[str, set[str]]:
    """Model/seed/snapshot name -> the dbt sources it reads, directly or through other models."""
    nodes = manifest["nodes"]
    memo: dict[str, set[str]] = {}

    def sources_of(unique_id: str) -> set[str]:
        if unique_id in manifest["sources"]:
            return {manifest["sources"][unique_id]["source_name"]}
        if unique_id not in memo:
            memo[unique_id] = set()  # guards against cycles while recursing
            deps = nodes.get(unique_id, {}).get("depends_on", {}).get("nodes", [])
            memo[unique_id] = set().union(*(sources_of(d) for d in deps))
        return memo[unique_id]

    return {node["name"]: sources_of(uid) for uid, node in nodes.items()
            if node["resource_type"] in ("model", "seed", "snapshot")}


def buildable_nodes(manifest: dict, loaded_sources: set[str]) -> list[str]:
    """Models and seeds whose every upstream dbt source was loaded.

    Marts other sources feed (crm, health) are left out until their loader joins the test, and
    come in automatically once it does.
    """
    return sorted(name for name, sources in upstream_sources(manifest).items() if sources <= loaded_sources)


def mart_relations(manifest: dict, selected: list[str]) -> dict[str, str]:
    """Mart name -> `schema.table` for every selected model under models/marts/."""
    wanted = set(selected)
    return {node["name"]: f'{node["schema"]}.{node["alias"]}'
            for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["name"] in wanted
            and Path(node["original_file_path"]).parts[:2] == ("models", "marts")}


def normalise(value):
    """One comparable form per value: engines return numeric/double, aware/naive timestamps differently."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return round(float(value), 6)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def comparable_rows(columns: list[str], rows: list[tuple]) -> Counter:
    keep = [i for i, c in enumerate(columns) if not ignored(c.lower())]
    return Counter(tuple(normalise(row[i]) for i in keep) for row in rows)


def table_diff(name: str, columns: tuple[list[str], list[str]], rows: tuple[list[tuple], list[tuple]],
               labels: tuple[str, str]) -> str | None:
    """None when both sides hold the same rows, else a short description of the difference."""
    (cols_a, cols_b), (rows_a, rows_b), (a, b) = columns, rows, labels
    if [c.lower() for c in cols_a] != [c.lower() for c in cols_b]:
        return f"{name}: columns differ\n  {a}: {cols_a}\n  {b}: {cols_b}"
    left, right = comparable_rows(cols_a, rows_a), comparable_rows(cols_b, rows_b)
    if left == right:
        return None
    only_a, only_b = list((left - right).elements())[:3], list((right - left).elements())[:3]
    return (f"{name}: {len(rows_a)} rows on {a}, {len(rows_b)} on {b}; columns {cols_a}\n"
            f"  only on {a}: {only_a}\n  only on {b}: {only_b}")

"""Compares dbt marts across destinations: which nodes to build for the loaded sources, the builds, a normalised table diff.

Which nodes the loaded sources can build is scripts/dbt_build.py's rule (the one `make dbt-build` follows).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from scripts.dbt_build import buildable_nodes, source_tables, upstream_sources
from tests.conftest import run_dbt

Table = tuple[list[str], list[tuple]]  # column names, rows


# the ledger: every loader runs its pipeline through run_source, which writes ops.pipeline_runs on the same
# destination, so the ops marts (pipeline_health, fct_pipeline_runs) are built and compared too
LEDGER_SOURCE = "ops"

# columns of the ops marts whose values say when a run happened (or which id dlt drew), not what it loaded:
# two loads of the same data differ there and nowhere else
RUN_DEPENDENT_COLUMNS = {
    "fct_pipeline_runs": {"run_id", "started_at", "finished_at", "duration_seconds"},
    "pipeline_health": {"last_success_at", "hours_since_success", "last_success_run_id", "last_run_started_at",
                        "last_run_finished_at", "last_run_id"},
    "rejected_records": {"load_id"},
    "data_recency": {"hours_since_latest_record"},
}


# marts a clean sandbox load leaves empty (nothing is rejected); tests/dbt/test_ops_marts.py fills and compares it
EMPTY_ON_CLEAN_LOADS = {"rejected_records"}


def ignored(column: str, table: str = "") -> bool:
    """dlt bookkeeping, load and build times (and run times in the ops marts) legitimately differ between two runs."""
    return (column.startswith("_dlt") or column.endswith(("loaded_at", "built_at"))
            or column in RUN_DEPENDENT_COLUMNS.get(table, set()))


def load_manifest(target_path: Path) -> dict:
    return json.loads((target_path / "manifest.json").read_text())


def unit_tests_run(target_path: Path) -> list[str]:
    """Names of the dbt unit tests a build ran (from its run_results.json), whatever their status."""
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    return [r["unique_id"] for r in results if r["unique_id"].startswith("unit_test.")]


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


def comparable_rows(columns: list[str], rows: list[tuple], table: str = "") -> Counter:
    keep = [i for i, c in enumerate(columns) if not ignored(c.lower(), table)]
    return Counter(tuple(normalise(row[i]) for i in keep) for row in rows)


def table_diff(name: str, columns: tuple[list[str], list[str]], rows: tuple[list[tuple], list[tuple]],
               labels: tuple[str, str]) -> str | None:
    """None when both sides hold the same rows, else a short description of the difference."""
    (cols_a, cols_b), (rows_a, rows_b), (a, b) = columns, rows, labels
    if [c.lower() for c in cols_a] != [c.lower() for c in cols_b]:
        return f"{name}: columns differ\n  {a}: {cols_a}\n  {b}: {cols_b}"
    left, right = comparable_rows(cols_a, rows_a, name), comparable_rows(cols_b, rows_b, name)
    if left == right:
        return None
    only_a, only_b = list((left - right).elements())[:3], list((right - left).elements())[:3]
    return (f"{name}: {len(rows_a)} rows on {a}, {len(rows_b)} on {b}; columns {cols_a}\n"
            f"  only on {a}: {only_a}\n  only on {b}: {only_b}")


def selection(manifest: dict, dbt_sources: set[str]) -> list[str]:
    """The nodes every table of `dbt_sources` can build (scripts.dbt_build.buildable_nodes, the rule `make dbt-build`
    follows), read from a manifest of the whole project: the reference warehouse's build, with the vars these
    tests build with (a `dbt parse` of its own cost each test a full parse, about 15 s of CPU)."""
    return buildable_nodes(manifest, source_tables(manifest, dbt_sources))


def dbt_build(target: str, target_path: Path, selected: list[str], dbt_vars: str | None = None) -> dict:
    """`dbt build` of the selected nodes on `target` (fails the test on any failing model or test); its manifest.

    A private target/log path: other dbt runs (people, other tests) share dbt/target. `dbt_vars` as the
    reference warehouse was built with (tests/fixtures/reference_warehouse.py), so warehouse_info compares.
    """
    run_dbt("build", "--select", *selected, "--indirect-selection", "cautious", *(("--vars", dbt_vars) if dbt_vars else ()),
            "--target-path", str(target_path), "--log-path", str(target_path / "logs"), target=target)
    return load_manifest(target_path)


def duckdb_table(path: Path, relation: str) -> Table:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cur = con.execute(f"select * from {relation}")
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()


@dataclass(frozen=True)
class BuiltMarts:
    """One destination's dbt build: a label, its manifest, and how to read one of its relations."""

    label: str
    manifest: dict
    read: Callable[[str], Table]


def compare_marts(selected: list[str], dbt_sources: set[str], reference: BuiltMarts,
                  other: BuiltMarts) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Row counts per mart (reference, other) and a description of every mart that differs.

    Asserts what makes the comparison mean something: the same marts on both sides, each loaded dbt
    source feeding at least one of them, no empty mart on the reference side.
    """
    ref_marts, other_marts = mart_relations(reference.manifest, selected), mart_relations(other.manifest, selected)
    assert ref_marts.keys() == other_marts.keys()
    assert "dim_date" in ref_marts
    upstream = upstream_sources(reference.manifest)
    for source in sorted(dbt_sources):
        assert any(source in upstream[name] for name in ref_marts), f"no mart reads {source}"

    counts, diffs = {}, []
    for name in sorted(ref_marts):
        ref_cols, ref_rows = reference.read(ref_marts[name])
        other_cols, other_rows = other.read(other_marts[name])
        counts[name] = (len(ref_rows), len(other_rows))
        assert ref_rows or name in EMPTY_ON_CLEAN_LOADS, f"{name} is empty on {reference.label}: the comparison would prove nothing"
        diff = table_diff(name, (ref_cols, other_cols), (ref_rows, other_rows), (reference.label, other.label))
        if diff:
            diffs.append(diff)
    return counts, diffs


def render_counts(counts: dict[str, tuple[int, int]], labels: tuple[str, str]) -> str:
    return "\n".join(f"  {name}: {labels[0]} {a} rows, {labels[1]} {b} rows" for name, (a, b) in counts.items())


def assert_same_marts(destination: str, reports: dict, counts: dict, diffs: list[str], timing: str) -> None:
    """Prints what the destination loaded and each mart's row counts, then fails on any mart difference."""
    print(f"\n{destination}: {timing}")
    for pipeline, report in reports.items():
        print(f"  {pipeline}: {report.total_rows} raw rows loaded {dict(sorted(report.rows.items()))}")
    print(render_counts(counts, ("duckdb", destination)))
    assert not diffs, f"marts differ between DuckDB and {destination}:\n" + "\n".join(diffs)

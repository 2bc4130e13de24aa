"""`make dbt-build`: `dbt build` of what the loaded sources feed, on any target, naming the sources that are absent.

A user with only some sources (only a Fitbit export, only Notion) has raw tables for those alone. Plain
`dbt build` then fails on every test and model of the others. This asks the warehouse (through dbt, so it
works on every target) which declared source tables exist, and builds every node whose upstream source
tables all exist, with their tests: a failing test on a present source still fails the build.

A model may read a source table that can legitimately be missing through the `source_if_exists` macro
(the run ledger before the first run, HubSpot associations before the first associated engagement);
that macro records the table in the model's `meta.optional_source_tables`, and such a table never holds
a model back.

    python -m scripts.dbt_build [--target T] [--source-freshness] [any other dbt option, e.g. --vars '{...}']

With `--source-freshness` it runs `dbt source freshness` on the present source tables instead of a build
(data recency: sources that were never loaded are skipped, not reported as errors).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts.dbt_invoke import invoke

REPO = Path(__file__).resolve().parents[1]
DBT_DIR = REPO / "dbt"
BUILDABLE_TYPES = ("model", "seed", "snapshot")
PRESENT_MARKER = "present_source_tables: "


# --- which nodes the present source tables can build (pure functions over dbt's manifest) ---

def source_table(source_node: dict) -> str:
    """`<source>.<table>`, how this module names a dbt source table."""
    return f'{source_node["source_name"]}.{source_node["name"]}'


def optional_tables(node: dict) -> set[str]:
    """Source tables this node reads through `source_if_exists` (it builds, empty, without them)."""
    return set((node.get("config", {}).get("meta") or {}).get("optional_source_tables", []))


def upstream_source_tables(manifest: dict, required_only: bool = True) -> dict[str, set[str]]:
    """Model/seed/snapshot name -> the source tables it reads, directly or through other nodes.

    With `required_only`, tables a node reads through `source_if_exists` are left out of that node's
    set (they are still counted where another node reads them with a plain `source()`).
    """
    nodes, sources = manifest["nodes"], manifest["sources"]
    memo: dict[str, set[str]] = {}

    def tables_of(unique_id: str) -> set[str]:
        if unique_id in sources:
            return {source_table(sources[unique_id])}
        if unique_id not in memo:
            memo[unique_id] = set()  # guards against cycles while recursing
            node = nodes.get(unique_id, {})
            found = set().union(*(tables_of(d) for d in node.get("depends_on", {}).get("nodes", [])))
            direct = {source_table(sources[d]) for d in node.get("depends_on", {}).get("nodes", []) if d in sources}
            skip = optional_tables(node) & direct if required_only else set()
            memo[unique_id] = found - skip
        return memo[unique_id]

    return {node["name"]: tables_of(uid) for uid, node in nodes.items() if node["resource_type"] in BUILDABLE_TYPES}


def upstream_sources(manifest: dict) -> dict[str, set[str]]:
    """Model/seed/snapshot name -> the dbt sources (notion, hubspot, fitbit, ops) it reads, optional reads included."""
    return {name: {t.split(".", 1)[0] for t in tables}
            for name, tables in upstream_source_tables(manifest, required_only=False).items()}


def source_tables(manifest: dict, sources: Iterable[str] | None = None) -> set[str]:
    """Every declared table of the given dbt sources (all sources when None)."""
    wanted = None if sources is None else set(sources)
    return {source_table(s) for s in manifest["sources"].values() if wanted is None or s["source_name"] in wanted}


def buildable_nodes(manifest: dict, present_tables: set[str]) -> list[str]:
    """Models, seeds and snapshots whose every required upstream source table is present."""
    return sorted(name for name, tables in upstream_source_tables(manifest).items() if tables <= present_tables)


@dataclass(frozen=True)
class Plan:
    """What one build covers, given the source tables present in the warehouse."""

    present_tables: set[str]
    buildable: list[str]
    skipped: list[str]            # models/seeds/snapshots left out: a required source table is absent
    absent_sources: list[str]     # dbt sources none of whose tables exist
    absent_tables: list[str]      # absent tables of present sources that some node needs
    skipping_sources: list[str]   # of the absent sources, those some node needs (not only reads if it exists)

    @property
    def complete(self) -> bool:
        return not self.skipped

    def absent_source_selectors(self, manifest: dict) -> list[str]:
        """`source:<source>.<table>` of each declared table that is not present (their tests cannot run)."""
        return sorted(f"source:{t}" for t in source_tables(manifest) - self.present_tables)

    def summary(self) -> list[str]:
        lines = []
        if self.absent_sources:
            if set(self.skipping_sources) == set(self.absent_sources):
                effect = "their models are skipped"
            elif self.skipping_sources:
                effect = "models that need them are skipped, models that only read them if present build empty"
            else:
                effect = "the models reading them build empty"
            lines.append(f"sources absent: {', '.join(self.absent_sources)} ({effect})")
        if self.absent_tables:
            lines.append(f"source tables absent: {', '.join(self.absent_tables)} (the models reading them are skipped)")
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} models: {', '.join(self.skipped)}")
        return lines


def plan(manifest: dict, present_tables: set[str]) -> Plan:
    required = upstream_source_tables(manifest)
    buildable = buildable_nodes(manifest, present_tables)
    skipped = sorted(set(required) - set(buildable))
    needed = set().union(*required.values()) if required else set()
    by_source: dict[str, set[str]] = {}
    for table in source_tables(manifest):
        by_source.setdefault(table.split(".", 1)[0], set()).add(table)
    absent_sources = sorted(s for s, tables in by_source.items() if not tables & present_tables)
    skipping_sources = [s for s in absent_sources if by_source[s] & needed]
    absent_tables = sorted(t for t in needed - present_tables if t.split(".", 1)[0] not in absent_sources)
    return Plan(set(present_tables), buildable, skipped, absent_sources, absent_tables, skipping_sources)


# --- dbt ---

def dbt_command(*args: str) -> list[str]:
    """dbt's arguments for a call on this project (scripts/dbt_invoke.py runs them in this process)."""
    return ["--no-use-colors", *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]


def present_source_tables(common: list[str]) -> tuple[set[str], dict]:
    """The declared source tables that exist on the target (macro present_source_tables) and dbt's manifest.

    One dbt call: run-operation parses the project (writing manifest.json) and asks the adapter.
    """
    result = invoke(dbt_command("run-operation", "present_source_tables", *common), capture=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith(PRESENT_MARKER)]
    if result.returncode != 0 or not lines:
        sys.stdout.write(result.stdout[-4000:])
        sys.stderr.write(result.stderr[-2000:])
        raise SystemExit(f"dbt_build: could not list the source tables on the target (exit {result.returncode})")
    present = set(json.loads(lines[-1][len(PRESENT_MARKER):]))
    # dbt's own precedence: the flag, then DBT_TARGET_PATH, then the project's target folder
    target_path = Path(option_value(common, "--target-path") or os.environ.get("DBT_TARGET_PATH") or DBT_DIR / "target")
    if not target_path.is_absolute():
        target_path = DBT_DIR / target_path
    manifest = json.loads((target_path / "manifest.json").read_text())
    return present, manifest


def option_value(args: Sequence[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def parse_args_of(passthrough: list[str]) -> list[str]:
    """Of the options given for the build, those that change what dbt parses (`--vars`): the run-operation before
    the build parses with them too, so the build's parse is partial. Without them the two calls' parses differ and
    each is a full parse of the project (about 14 s of CPU), the next run-operation's too."""
    value = option_value(passthrough, "--vars")
    return [] if value is None else ["--vars", value]


def build_args(build_plan: Plan, manifest: dict) -> list[str]:
    """`dbt build` arguments leaving out what absent tables feed; tests touching a left-out node go too (eager)."""
    if build_plan.complete and not build_plan.absent_source_selectors(manifest):
        return []
    return ["--exclude", *build_plan.skipped, *build_plan.absent_source_selectors(manifest)]


def freshness_args(build_plan: Plan) -> list[str]:
    """`dbt source freshness` of the present tables only (a source never loaded is not stale, it is absent)."""
    return ["--select", *sorted(f"source:{t}" for t in build_plan.present_tables)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.dbt_build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", help="dbt target (default: DBT_TARGET, else dev = DuckDB)")
    parser.add_argument("--target-path", help="dbt target path (default dbt/target)")
    parser.add_argument("--log-path", help="dbt log path (default dbt/logs)")
    parser.add_argument("--source-freshness", action="store_true",
                        help="run `dbt source freshness` on the present source tables instead of a build")
    args, passthrough = parser.parse_known_args(argv)
    common = [*(["--target", args.target] if args.target else []),
              *(["--target-path", args.target_path] if args.target_path else []),
              *(["--log-path", args.log_path] if args.log_path else [])]

    present, manifest = present_source_tables([*common, *parse_args_of(passthrough)])
    build_plan = plan(manifest, present)
    for line in build_plan.summary():
        print(f"dbt_build: {line}", flush=True)

    if args.source_freshness:
        if not build_plan.present_tables:
            print("dbt_build: no source table present, no freshness to check", flush=True)
            return 0
        cmd = dbt_command("source", "freshness", *freshness_args(build_plan), *common, *passthrough)
    else:
        cmd = dbt_command("build", *build_args(build_plan, manifest), *common, *passthrough)
    return invoke(cmd).returncode


if __name__ == "__main__":
    raise SystemExit(main())

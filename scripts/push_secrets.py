"""Push a local secrets.toml to Google Secret Manager as the TOML fragments dlt's provider reads.

    python -m scripts.push_secrets --project my-gcp-project [--file .dlt/secrets.toml] [--dry-run] [--only NAME]
                                   [--destroy-old]

Every `[sources.<name>]` and `[destination.<name>]` table becomes one secret holding that table as a
TOML document, named the way dlt's Google Secrets provider looks it up (sources-notion,
sources-hubspot, sources-fitbit, destination-bigquery ...). A missing secret is created; a new
version is added only when the content differs from the latest one; `--destroy-old` then destroys
the versions it replaces (Secret Manager bills every enabled or disabled version beyond 6 a month).
Values are never printed: only secret names, sizes and the first 8 hex digits of a SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from dlt.common.configuration.providers.google_secrets import GoogleSecretsProvider

from pipelines.common import secret_manager
from pipelines.common.settings import REPO_ROOT

SECTIONS = ("sources", "destination")


@dataclass(frozen=True)
class Fragment:
    secret_id: str  # e.g. sources-notion
    section: str  # e.g. sources.notion
    payload: bytes

    def describe(self) -> str:
        return f"{len(self.payload)} bytes, sha256 {hashlib.sha256(self.payload).hexdigest()[:8]}"

    def __repr__(self) -> str:
        return f"Fragment({self.secret_id!r}, {self.describe()})"


def split(doc: dict[str, Any]) -> tuple[list[Fragment], list[str]]:
    """(fragments, names of what is not pushed): one fragment per sources.<x> / destination.<x> table."""
    fragments, skipped = [], []
    for key, value in doc.items():
        if key not in SECTIONS or not isinstance(value, dict):
            skipped.append(key)
            continue
        for name, table in value.items():
            if not isinstance(table, dict):
                skipped.append(f"{key}.{name}")
                continue
            fragments.append(Fragment(GoogleSecretsProvider.get_key_name(name, key), f"{key}.{name}",
                                      tomlkit.dumps({key: {name: table}}).encode()))
    return fragments, skipped


def push(fragment: Fragment, project: str, client: Any, dry_run: bool, destroy_old: bool = False) -> str:
    """What happened to one fragment, as a line for the operator (never a value)."""
    from google.api_core import exceptions as gexc

    name = f"projects/{project}/secrets/{fragment.secret_id}"
    try:
        secret_manager.call(client.get_secret, request={"name": name})
        exists = True
    except gexc.NotFound:
        exists = False
    latest = None
    if exists:
        try:
            latest = secret_manager.call(client.access_secret_version,
                                         request={"name": f"{name}/versions/latest"}).payload.data
        except (gexc.NotFound, gexc.FailedPrecondition):  # no version yet, or the latest is disabled
            latest = None
    if latest == fragment.payload:
        return "unchanged"
    if dry_run:
        return "would add a version" if exists else "would create the secret and add a version"
    if not exists:
        secret_manager.call(client.create_secret, request={
            "parent": f"projects/{project}", "secret_id": fragment.secret_id,
            "secret": {"replication": {"automatic": {}}, "labels": {"managed-by": "push_secrets"}}})
    import google_crc32c

    added = secret_manager.call(client.add_secret_version, request={
        "parent": name, "payload": {"data": fragment.payload, "data_crc32c": google_crc32c.value(fragment.payload)}})
    version = int(added.name.rsplit("/", 1)[-1])
    outcome = f"{'created, ' if not exists else ''}version {version} added"
    if destroy_old:
        older = [v.name for v in secret_manager.call(client.list_secret_versions, request={
                     "parent": name, "filter": "state:ENABLED OR state:DISABLED"})
                 if int(v.name.rsplit("/", 1)[-1]) < version]
        for old in older:
            secret_manager.call(client.destroy_secret_version, request={"name": old})
        outcome += f", {len(older)} older destroyed"
    return outcome


def main(argv: list[str] | None = None, client: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.push_secrets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, default=REPO_ROOT / ".dlt" / "secrets.toml",
                        help="the secrets.toml to push (default: .dlt/secrets.toml)")
    parser.add_argument("--project", default=os.environ.get("GCP_PROJECT"),
                        help="the GCP project holding the secrets (default: $GCP_PROJECT)")
    parser.add_argument("--dry-run", action="store_true", help="compare and report, write nothing")
    parser.add_argument("--destroy-old", action="store_true",
                        help="after adding a version, destroy the older ones (irreversible; saves active-version fees)")
    parser.add_argument("--only", action="append", metavar="SECRET",
                        help="push only this secret (e.g. sources-notion); repeatable")
    args = parser.parse_args(argv)
    if not args.project:
        parser.error("say which GCP project: --project or GCP_PROJECT")
    try:
        doc = tomllib.loads(args.file.read_text())
    except FileNotFoundError:
        print(f"[push_secrets] FAILED: {args.file} does not exist (template: config/secrets.toml.example)",
              file=sys.stderr)
        return 1
    except tomllib.TOMLDecodeError as exc:  # its message gives a line and column, not the content
        print(f"[push_secrets] FAILED: {args.file} is not valid TOML: {exc}", file=sys.stderr)
        return 1
    fragments, skipped = split(doc)
    if args.only:
        unknown = sorted(set(args.only) - {f.secret_id for f in fragments})
        if unknown:
            print(f"[push_secrets] FAILED: {args.file} has no table for {', '.join(unknown)}", file=sys.stderr)
            return 1
        fragments = [f for f in fragments if f.secret_id in args.only]
    if skipped:
        print(f"[push_secrets] not pushed (dlt's provider only reads sources.<name> and destination.<name> "
              f"tables): {', '.join(skipped)}")
    if not fragments:
        print(f"[push_secrets] nothing to push from {args.file}")
        return 0
    from google.api_core import exceptions as gexc

    client = client or secret_manager.make_client()
    failed = 0
    print(f"[push_secrets] project {args.project}{' (dry run: nothing is written)' if args.dry_run else ''}")
    for fragment in fragments:
        try:
            outcome = push(fragment, args.project, client, args.dry_run, args.destroy_old)
        except (gexc.GoogleAPICallError, gexc.RetryError) as exc:  # names and codes only, never a payload
            failed += 1
            outcome = f"FAILED: {type(exc).__name__}" + (f" (HTTP {exc.code})" if getattr(exc, "code", None) else "")
        print(f"  {fragment.secret_id:<28} [{fragment.section}] {outcome} ({fragment.describe()})")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

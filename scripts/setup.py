"""`make setup`: your tokens and ids into .dlt/secrets.toml, one cheap request per source, and what to run next.

In a terminal it asks for each value (Enter keeps what the file has, or skips). Elsewhere (CI, a script, a
test) it takes flags or the environment variables dlt itself reads, e.g. SOURCES__NOTION__API_TOKEN,
SOURCES__NOTION__DATABASES='{"daily": "<id>"}'. It writes .dlt/secrets.toml (git-ignored; created from
config/secrets.toml.example) and never overwrites a value already there unless you confirm, or pass --replace.
Everything you set goes in that one file, non-secret values too (database ids, an export path, a base URL):
dlt reads all settings from it, and the tracked .dlt/config.toml keeps only the project's defaults.

Then each configured source gets one authenticated request with a short timeout (Notion: each database, or
/v1/users/me; HubSpot: one contact); Fitbit is checked locally (client id and the token store). No value
is ever printed.

    .venv/bin/python -m scripts.setup [--notion-token T] [--notion-databases daily=<id>,weekly=<id>]
        [--hubspot-token T] [--fitbit-client-id I --fitbit-client-secret S] [--export-path P]
        [--notion-base-url U] [--hubspot-base-url U] [--replace] [--no-check] [--secrets-file F]
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import httpx
import tomlkit

from pipelines.common.settings import REPO_ROOT, ConfigFileError, check_config_files, dlt_settings_dir

EXAMPLE = REPO_ROOT / "config" / "secrets.toml.example"
TIMEOUT_SECONDS = 10.0
_PLACEHOLDER = re.compile(r"<[^<>\n]+>")  # the template's "<your ...>" values (whole or part) are not values
_NOTION_ID = re.compile(r"([0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12})", re.I)
DEFAULT_BASE_URLS = {"notion": "https://api.notion.com/v1", "hubspot": "https://api.hubapi.com"}
NOTION_VERSION = "2025-09-03"


@dataclass(frozen=True)
class Field:
    section: str   # dlt section under [sources]
    key: str
    flag: str
    prompt: str
    secret: bool = False

    @property
    def env(self) -> str:
        return f"SOURCES__{self.section.upper()}__{self.key.upper()}"

    @property
    def name(self) -> str:
        return f"sources.{self.section}.{self.key}"


FIELDS = [
    Field("notion", "api_token", "notion_token", "Notion internal integration secret", secret=True),
    Field("notion", "databases", "notion_databases",
          "Notion habit databases, as daily=<id or URL>,weekly=<id or URL>,monthly=<id or URL>"),
    Field("hubspot", "api_token", "hubspot_token", "HubSpot private app access token", secret=True),
    Field("fitbit", "client_id", "fitbit_client_id", "Fitbit API OAuth client id (only for the API; Enter skips)"),
    Field("fitbit", "client_secret", "fitbit_client_secret", "Fitbit API OAuth client secret", secret=True),
    Field("fitbit_export", "path", "export_path", "Fitbit/Google Takeout export (zip or folder; Enter skips)"),
]
# base URLs are asked for only by flag or env (the sandbox, an EU HubSpot host); the defaults are in .dlt/config.toml
BASE_URL_FIELDS = [
    Field("notion", "api_base_url", "notion_base_url", "Notion API base URL"),
    Field("hubspot", "api_base_url", "hubspot_base_url", "HubSpot API base URL"),
]


def parse_databases(text: str) -> dict[str, str]:
    """`daily=<id>,weekly=<id>` or JSON; an id may be the database's URL (its 32-hex id is taken)."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        pairs = json.loads(text)
    else:
        pairs = dict(part.split("=", 1) for part in re.split(r"[,\s]+", text) if part)
    result = {}
    for frequency, value in pairs.items():
        frequency = frequency.strip().lower()
        if frequency not in ("daily", "weekly", "monthly"):
            raise ValueError(f"unknown frequency {frequency!r}: use daily, weekly or monthly")
        value = str(value).strip()
        found = _NOTION_ID.findall(value.split("?", 1)[0])
        result[frequency] = found[-1] if found and "/" in value else value
    return result


def is_missing(value) -> bool:
    return value is None or value == "" or value == {} or (isinstance(value, str) and bool(_PLACEHOLDER.search(value)))


# --- the secrets file ---



def load_document(path: Path) -> tomlkit.TOMLDocument:
    """The existing file, or the template with its placeholder values commented out (missing, not fake)."""
    if path.exists():
        return tomlkit.parse(path.read_text())
    text = EXAMPLE.read_text()
    text = re.sub(r'^(\w+ = "[^"\n]*<[^"\n]*>[^"\n]*")$', r"# \1", text, flags=re.M)
    return tomlkit.parse(text)


def current(doc: tomlkit.TOMLDocument, field: Field):
    value = doc.get("sources", {}).get(field.section, {}).get(field.key)
    if hasattr(value, "unwrap"):
        value = value.unwrap()
    return None if is_missing(value) else value


def assign(doc: tomlkit.TOMLDocument, field: Field, value) -> None:
    sources = doc.setdefault("sources", tomlkit.table(is_super_table=True))
    if field.section not in sources:
        sources[field.section] = tomlkit.table()
    if isinstance(value, dict):
        inline = tomlkit.inline_table()
        inline.update(value)
        value = inline
    sources[field.section][field.key] = value


def write_document(path: Path, doc: tomlkit.TOMLDocument) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(tomlkit.dumps(doc))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


# --- gathering values: flags, then environment, then (in a terminal) a prompt ---

def gather(doc, args, interactive: bool) -> tuple[list[str], list[str]]:
    """Fills `doc`; returns (what changed, what was kept although a different value was given)."""
    changed, kept = [], []
    for field in [*FIELDS, *BASE_URL_FIELDS]:
        given = getattr(args, field.flag, None)
        if given is None:
            given = os.environ.get(field.env)
        if given is None and interactive and field in FIELDS:
            given = ask(field, current(doc, field))
        if given is None or str(given).strip() == "":
            continue
        value = parse_databases(given) if field.key == "databases" else str(given).strip()
        old = current(doc, field)
        if old == value:
            continue
        if old is not None and not args.replace:
            if not (interactive and confirm(f"replace the {field.name} already in the file?")):
                kept.append(field.name)
                continue
        assign(doc, field, value)
        changed.append(field.name)
    return changed, kept


def ask(field: Field, existing) -> str | None:
    hint = " (Enter keeps the value in the file)" if existing is not None else " (Enter skips)"
    reader = getpass.getpass if field.secret else input
    answer = reader(f"{field.prompt}{hint}: ").strip()
    return answer or None


def confirm(question: str) -> bool:
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


# --- checks: one cheap request per configured source ---

def effective(doc, field: Field, config: dict):
    """What a run will use: environment, then .dlt/secrets.toml, then .dlt/config.toml."""
    if os.environ.get(field.env):
        value = os.environ[field.env]
        return parse_databases(value) if field.key == "databases" else value
    value = current(doc, field)
    if value is not None:
        return value
    return config.get("sources", {}).get(field.section, {}).get(field.key)


def check_notion(token: str, databases: dict[str, str], base_url: str, version: str) -> tuple[bool, str]:
    headers = {"Authorization": f"Bearer {token}", "Notion-Version": version}
    with httpx.Client(timeout=TIMEOUT_SECONDS, headers=headers) as client:
        if not databases:
            r = client.get(f"{base_url.rstrip('/')}/users/me")
            return _verdict(r, "token accepted", "notion") if r.status_code != 404 else \
                (False, f"{base_url} has no /users/me: is api_base_url right?")
        problems = []
        for frequency, database_id in databases.items():
            r = client.get(f"{base_url.rstrip('/')}/databases/{database_id}")
            if r.status_code == 404:
                problems.append(f"{frequency} database {database_id} not found: share it with the integration "
                                f"(database ••• menu -> Connections) and check the id")
            elif r.status_code != 200:
                return _verdict(r, "", "notion")
        if problems:
            return False, "; ".join(problems)
        return True, f"token accepted, {len(databases)} database(s) readable ({', '.join(databases)})"


def check_hubspot(token: str, base_url: str) -> tuple[bool, str]:
    with httpx.Client(timeout=TIMEOUT_SECONDS, headers={"Authorization": f"Bearer {token}"}) as client:
        r = client.get(f"{base_url.rstrip('/')}/crm/v3/objects/contacts", params={"limit": 1})
        return _verdict(r, "token accepted (read one contact)", "hubspot")


def _verdict(response: httpx.Response, ok: str, source: str) -> tuple[bool, str]:
    if response.status_code == 200:
        return True, ok
    if response.status_code in (401, 403):
        what = "missing a scope (crm.objects.contacts.read ...)" if response.status_code == 403 else "rejected"
        return False, f"token {what} (HTTP {response.status_code}): check sources.{source}.api_token"
    return False, f"HTTP {response.status_code} from {response.request.url.copy_with(query=None)}"


def run_checks(doc, config: dict) -> dict[str, tuple[bool | None, str]]:
    """source -> (ok, message); ok None: not configured."""
    def value(section, key):
        return effective(doc, next(f for f in [*FIELDS, *BASE_URL_FIELDS] if (f.section, f.key) == (section, key)),
                         config)

    results: dict[str, tuple[bool | None, str]] = {}
    token = value("notion", "api_token")
    databases = value("notion", "databases") or {}
    if token:
        base = value("notion", "api_base_url") or DEFAULT_BASE_URLS["notion"]
        version = config.get("sources", {}).get("notion", {}).get("notion_version", NOTION_VERSION)
        results["notion"] = _guarded(lambda: check_notion(token, dict(databases), base, version), base)
        if results["notion"][0] and not databases:
            results["notion"] = (False, "token accepted, but no databases set: add them (--notion-databases or "
                                        "SOURCES__NOTION__DATABASES, or run make setup in a terminal)")
    else:
        results["notion"] = (None, "no api_token")
    token = value("hubspot", "api_token")
    if token:
        base = value("hubspot", "api_base_url") or DEFAULT_BASE_URLS["hubspot"]
        results["hubspot"] = _guarded(lambda: check_hubspot(token, base), base)
    else:
        results["hubspot"] = (None, "no api_token")
    if value("fitbit", "client_id") and value("fitbit", "client_secret"):
        store = os.environ.get("SOURCES__FITBIT__TOKEN_STORE") or config.get("sources", {}).get("fitbit", {}).get(
            "token_store")
        tokens = Path(os.environ.get("SOURCES__FITBIT__TOKEN_STORE_PATH", REPO_ROOT / "data" / "fitbit_tokens.json"))
        if store:
            results["fitbit"] = (True, f"client configured; token store {store} (checked at the first run)")
        elif tokens.exists():
            results["fitbit"] = (True, f"client configured; token store {_shown(tokens)} present")
        else:
            results["fitbit"] = (False, "client configured, no token yet: do the first authorisation once "
                                        "(README, \"Fitbit\")")
    else:
        results["fitbit"] = (None, "no client_id/client_secret (only needed for the Web API)")
    path = value("fitbit_export", "path")
    if path:
        found = Path(str(path)).expanduser().exists()
        results["fitbit_export"] = (found, f"export at {path}" + ("" if found else ": no such file or folder"))
    else:
        results["fitbit_export"] = (None, "no path (or pass EXPORT=<zip> to make fitbit-export)")
    return results


def _guarded(check, base_url: str) -> tuple[bool, str]:
    try:
        return check()
    except httpx.TimeoutException:
        return False, f"no answer from {base_url} within {TIMEOUT_SECONDS:.0f} s"
    except httpx.HTTPError as exc:
        return False, f"cannot reach {base_url}: {type(exc).__name__}"


NEXT = {"notion": "make notion", "hubspot": "make hubspot", "fitbit": "make fitbit",
        "fitbit_export": "make fitbit-export"}


def report(path: Path, changed: list[str], kept: list[str], results: dict) -> tuple[str, int]:
    lines = [f"settings file: {_shown(path)} (git-ignored)"]
    if changed:
        lines.append(f"  written: {', '.join(changed)}")
    if kept:
        lines.append(f"  kept the values already in the file for: {', '.join(kept)} (--replace overwrites)")
    overridden = [f.env for f in [*FIELDS, *BASE_URL_FIELDS] if os.environ.get(f.env) and f.name in kept]
    if overridden:
        lines.append(f"  note: {', '.join(overridden)} in the environment differ from the file and win at run time")
    lines.append("")
    ready, failed = [], []
    for source, (ok, message) in results.items():
        state = {True: "ok", False: "PROBLEM", None: "not configured"}[ok]
        lines.append(f"  {source:<14} {state:<15} {message}")
        if ok:
            ready.append(source)
        elif ok is False:
            failed.append(source)
    lines.append("")
    if ready:
        commands = [NEXT[s] for s in ready]
        lines.append(f"next: {' && '.join(commands)} && make dbt-build && make dashboard")
    elif not failed:
        lines.append("nothing configured yet: run `make setup` in a terminal (it asks), or pass values, e.g. "
                     "make setup SETUP_ARGS='--notion-token ... --notion-databases daily=<id>'")
    if failed:
        lines.append(f"fix first: {', '.join(failed)} (then run make setup again)")
    return "\n".join(lines), 1 if failed else 0


def _shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.setup", description=__doc__.splitlines()[0])
    for field in [*FIELDS, *BASE_URL_FIELDS]:
        parser.add_argument(f"--{field.flag.replace('_', '-')}", dest=field.flag, help=f"{field.prompt} ({field.env})")
    parser.add_argument("--secrets-file", type=Path, help="default: .dlt/secrets.toml")
    parser.add_argument("--replace", action="store_true", help="overwrite values already in the file")
    parser.add_argument("--no-check", action="store_true", help="write the file only, no requests")
    parser.add_argument("--no-input", action="store_true", help="never prompt, even in a terminal")
    args = parser.parse_args(argv)
    try:
        check_config_files()
        path = (args.secrets_file or dlt_settings_dir() / "secrets.toml").resolve()
        doc = load_document(path)
        interactive = sys.stdin.isatty() and not args.no_input
        if interactive:
            print(f"Writing {_shown(path)}. Enter keeps what is there (or skips); nothing typed is shown later.")
        changed, kept = gather(doc, args, interactive)
        if changed or not path.exists():
            write_document(path, doc)
        config_file = dlt_settings_dir() / "config.toml"
        config = tomllib.loads(config_file.read_text()) if config_file.exists() else {}
        results = {} if args.no_check else run_checks(doc, config)
    except (ConfigFileError, ValueError, tomlkit.exceptions.TOMLKitError) as exc:
        print(f"setup: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, EOFError):
        print("\nsetup: stopped; nothing written", file=sys.stderr)
        return 130
    text, code = report(path, changed, kept, results)
    print(text)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

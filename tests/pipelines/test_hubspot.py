"""The HubSpot source against the sandbox: counts, idempotence, edits, archives, result cap, 429s, 414s, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipelines.common.runner import run_source
from pipelines.hubspot import hubspot_source
from sandbox.hubspot_data import ENGAGEMENT_TYPES, OBJECT_TYPES
from tests.conftest import REPO, Warehouse

CONTACTS, COMPANIES, ENGAGEMENTS = "raw.hubspot__contacts", "raw.hubspot__companies", "raw.hubspot__engagements"


def load():
    return run_source("hubspot", hubspot_source)


def searches(server, ) -> int:
    return server.sandbox.traffic.count("hubspot", "POST /crm/v3/objects/search")


def _snapshot(warehouse: Warehouse) -> list:
    return [warehouse.query(f"select id, updated_at, is_deleted, content_hash from {t} order by id")
            for t in (CONTACTS, COMPANIES, ENGAGEMENTS)] + [
        warehouse.query("select engagement_id, to_object_type, to_object_id "
                        "from raw.hubspot__engagements__associations order by 1, 2, 3")]


def test_first_run_loads_every_record_then_nothing(hubspot_env, warehouse):
    portal = hubspot_env.sandbox.hubspot.portal
    first = load()
    assert first.rows["hubspot__contacts"] == len(portal.objects["contacts"])
    assert first.rows["hubspot__companies"] == len(portal.objects["companies"])
    assert first.rows["hubspot__engagements"] == len(portal.engagements())
    live_links = sum(len(e.contact_ids) + len(e.company_ids) for e in portal.engagements(archived=False))
    assert first.rows["hubspot__engagements__associations"] == live_links
    assert warehouse.scalar(f"select count(*) from {CONTACTS} where is_deleted") == len(portal.records("contacts", True))
    for t in ENGAGEMENT_TYPES:
        assert warehouse.scalar(f"select count(*) from {ENGAGEMENTS} where engagement_type = ?", [t]) == len(portal.objects[t])
    assert first.api_requests == sum(hubspot_env.sandbox.traffic.counts.values())

    hubspot_env.sandbox.traffic.reset()
    second = load()
    assert second.total_rows == 0
    assert searches(hubspot_env) <= len(OBJECT_TYPES), "at most one search per object type"
    assert hubspot_env.sandbox.traffic.count("hubspot", "POST /crm/v4") == 0
    assert warehouse.count(CONTACTS) == len(portal.objects["contacts"])


def test_edited_contact_updates_in_place(hubspot_env, warehouse):
    load()
    store = hubspot_env.sandbox.hubspot
    contact = store.portal.records("contacts", archived=False)[5]
    store.edit("contacts", contact.id, {"jobtitle": "Chief Gardener"})
    report = load()
    assert report.rows == {"hubspot__contacts": 1}
    assert warehouse.query(f"select jobtitle from {CONTACTS} where id = ?", [contact.id]) == [("Chief Gardener",)]
    assert warehouse.count(CONTACTS) == len(store.portal.objects["contacts"])


def test_archived_records_are_marked_deleted(hubspot_env, warehouse):
    load()
    store = hubspot_env.sandbox.hubspot
    contact = store.portal.records("contacts", archived=False)[0]
    call = store.portal.records("calls", archived=False)[0]
    store.archive("contacts", contact.id)
    store.archive("calls", call.id)
    report = load()
    assert report.rows.get("hubspot__contacts") == 1 and report.rows.get("hubspot__engagements") == 1
    assert warehouse.query(f"select is_deleted, archived_at is not null from {CONTACTS} where id = ?", [contact.id]) == [(True, True)]
    assert warehouse.query(f"select is_deleted from {ENGAGEMENTS} where id = ?", [call.id]) == [(True,)]


def test_small_cap_with_a_bulk_update_larger_than_the_cap_loads_everything_once(hubspot_env, warehouse, monkeypatch):
    cap = 50
    store = hubspot_env.sandbox.hubspot
    store.search_cap = cap
    monkeypatch.setenv("SOURCES__HUBSPOT__SEARCH_RESULT_CAP", str(cap))
    portal = store.portal
    stamp = portal.bulk_stamps["contacts"]
    assert sum(c.updated_at == stamp and not c.archived for c in portal.records("contacts")) > cap
    load()
    for table, n in ((CONTACTS, len(portal.objects["contacts"])), (COMPANIES, len(portal.objects["companies"])),
                     (ENGAGEMENTS, len(portal.engagements()))):
        assert warehouse.query(f"select count(*), count(distinct id) from {table}") == [(n, n)]
    # a later bulk update of more records than the cap, in the same millisecond, between two runs
    ids = [c.id for c in portal.records("contacts", archived=False)[: cap * 2 + 7]]
    store.bulk_stamp("contacts", ids, {"lifecyclestage": "evangelist"})
    report = load()
    assert report.rows["hubspot__contacts"] == len(ids)
    assert warehouse.scalar(f"select count(*) from {CONTACTS} where lifecyclestage = 'evangelist'") == len(ids)
    assert warehouse.count(CONTACTS) == len(portal.objects["contacts"])


def test_rate_limited_run_completes_with_identical_tables(hubspot_env, warehouse, tmp_path, monkeypatch):
    load()
    calm = _snapshot(warehouse)
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "limited.duckdb"))
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "limited_state"))
    hubspot_env.sandbox.traffic.set_rate_limit("hubspot", 15, window_seconds=1.0)
    hubspot_env.sandbox.traffic.inject("hubspot", [429, 500, 429])
    report = load()
    assert report.api_retries >= 3, "the sandbox should have answered 429s"
    assert _snapshot(Warehouse(tmp_path / "limited.duckdb")) == calm


def test_long_property_lists_never_414(hubspot_env, warehouse, monkeypatch):
    from pipelines.hubspot.client import DEFAULT_PROPERTIES
    # the full defaults plus 150 custom properties (unknown ones are ignored by HubSpot, as by the sandbox)
    extra = [f"custom_property_number_{i}" for i in range(150)]
    props = {t: [*names, *extra] for t, names in DEFAULT_PROPERTIES.items()}
    monkeypatch.setenv("SOURCES__HUBSPOT__PROPERTIES", json.dumps(props))
    report = load()
    portal = hubspot_env.sandbox.hubspot.portal
    assert report.rows["hubspot__contacts"] == len(portal.objects["contacts"])
    assert warehouse.scalar(f"select count(*) from {CONTACTS} where is_deleted") == len(portal.records("contacts", True))
    assert hubspot_env.sandbox.traffic.count("hubspot", "GET /crm/v3/objects") > len(OBJECT_TYPES), "properties chunked"


def test_malformed_date_is_kept_with_a_reason(hubspot_env, warehouse):
    store = hubspot_env.sandbox.hubspot
    note = store.portal.records("notes", archived=False)[0]
    store.edit("notes", note.id, {"hs_timestamp": "last tuesday"})
    load()
    assert warehouse.query(f"select hs_timestamp, invalid_reason from {ENGAGEMENTS} where id = ?", [note.id]) == [
        (None, "hs_timestamp='last tuesday' is not a date")]
    assert warehouse.count(ENGAGEMENTS) == len(store.portal.engagements())


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.hubspot", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("trigger", ["--full-refresh", "HUBSPOT_FULL_REFRESH"])
def test_cli_full_refresh_reloads_everything(hubspot_env, warehouse, trigger):
    load()
    env = {**os.environ, **({"HUBSPOT_FULL_REFRESH": "true"} if trigger != "--full-refresh" else {})}
    result = _cli(env, *([trigger] if trigger == "--full-refresh" else []))
    assert result.returncode == 0, result.stderr
    assert f"mode: full refresh ({trigger}" in result.stdout
    assert f"hubspot__contacts: {len(hubspot_env.sandbox.hubspot.portal.objects['contacts'])} rows" in result.stdout


def test_bad_token_is_one_line_without_the_token(hubspot_env, warehouse):
    result = _cli({**os.environ, "SOURCES__HUBSPOT__API_TOKEN": "wrong-but-secret-value"})
    assert result.returncode == 1
    assert "401" in result.stderr and "SOURCES__HUBSPOT__API_TOKEN" in result.stderr
    assert "wrong-but-secret-value" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1

"""The HubSpot source against the sandbox: counts, idempotence, edits, archives, result cap, 429s, 414s, CLI,
a record read twice, opaque cursors, missing dates, search pacing, rejected records; and the contract fixtures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import parse_qs

import pytest
from requests import Response

from pipelines.common.incremental_window import iso_ms
from pipelines.common.runner import run_source
from pipelines.hubspot import hubspot_source
from sandbox.hubspot_data import ENGAGEMENT_TYPES, OBJECT_TYPES
from tests.conftest import REPO, SHORT_LIFE, Warehouse, run_dbt

CONTACTS, COMPANIES, ENGAGEMENTS = "raw.hubspot__contacts", "raw.hubspot__companies", "raw.hubspot__engagements"


pytestmark = pytest.mark.usefixtures("ledger_off")  # what the source loads; the ledger has its own tests


@pytest.fixture
def sandbox_life():
    """Half a year: the behaviour under test needs no more (the year-long loads run in tests/dbt and the demo)."""
    return SHORT_LIFE

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


# ---- a record seen twice in one run: the newest version wins (item 9) ---------------------------------------

@pytest.mark.parametrize("newer", ["second", "first"])
def test_record_read_twice_in_one_run_keeps_its_newest_version(hubspot_env, warehouse, newer):
    """The search index serves a stale copy next to the current version: one id twice, two updatedAt."""
    store = hubspot_env.sandbox.hubspot
    portal = store.portal
    contact = portal.records("contacts", archived=False)[7]
    call = next(c for c in portal.records("calls", archived=False) if c.contact_ids)
    position = "first" if newer == "second" else "last"  # the stale copy opens the first page or closes the last
    for object_type, record, change in (("contacts", contact, {"jobtitle": "Chief Gardener"}),
                                        ("calls", call, {"hs_call_title": "Second thoughts"})):
        store.stale_copy(object_type, record.id, position)
        store.edit(object_type, record.id, change)
    report = load()
    # keyset paging (test_hubspot_paging.py): the last page's query starts past the stale copy's date, so a copy
    # queued to close the last page matches no query and is not served; one opening the first page is
    both_read = newer == "second"
    assert report.rows["hubspot__contacts"] == len(portal.objects["contacts"]) + both_read, "both versions were read"
    assert warehouse.query(f"select jobtitle, updated_at from {CONTACTS} where id = ?", [contact.id]) == [
        ("Chief Gardener", iso_ms(contact.updated_at))]
    assert warehouse.query(f"select hs_call_title, updated_at from {ENGAGEMENTS} where id = ?", [call.id]) == [
        ("Second thoughts", iso_ms(call.updated_at))]
    for table in (CONTACTS, ENGAGEMENTS):
        assert warehouse.scalar(f"select count(*) - count(distinct id) from {table}") == 0, table
    # the dropped version's nested rows went with it
    assert warehouse.scalar("select count(*) from raw.hubspot__engagements__associations where engagement_id = ?",
                            [call.id]) == len(call.contact_ids) + len(call.company_ids)
    # and the cursor stands on the newest version: a run with nothing new loads nothing
    assert load().total_rows == 0


def test_contract_pages_with_a_duplicate_and_an_opaque_cursor_load_the_newest_version(warehouse, monkeypatch):
    """The real payload shapes (tests/fixtures/hubspot/) through the real pipeline, HTTP answered from the fixtures."""
    from pipelines.common.http import counting_client
    from pipelines.hubspot import source as hubspot_source_module
    from tests.fixtures.hubspot import ContractTransport, hubspot_contract

    duplicate, archived = hubspot_contract("search_duplicate_in_one_run"), hubspot_contract("list_archived_opaque_cursor")
    transport = ContractTransport({("POST", duplicate["request"]["path"]): duplicate["pages"],
                                   ("GET", archived["request"]["path"]): archived["pages"]})

    def fixture_client(base_url: str, token: str):
        client = counting_client("hubspot", base_url, headers={"Authorization": f"Bearer {token}"})
        client.session.mount("https://", transport)
        return client

    monkeypatch.setattr(hubspot_source_module, "hubspot_client", fixture_client)
    monkeypatch.setenv("SOURCES__HUBSPOT__API_TOKEN", "contract-fixture-token")
    monkeypatch.setenv("SOURCES__HUBSPOT__SEARCH_REQUESTS_PER_SECOND", "0")
    load()
    rows = warehouse.query(f"select id, jobtitle, lastmodifieddate, updated_at, is_deleted from {CONTACTS} order by id")
    assert rows == [("51", "CTO", "2024-05-02T16:20:00.000Z", "2024-05-02T16:20:00.000Z", False),
                    ("52", "Designer", "2024-05-02T15:00:00.000Z", "2024-05-02T15:00:00.000Z", False),
                    ("525", None, "2024-05-03T08:00:00.000Z", "2024-05-03T08:00:00.000Z", True),
                    ("526", None, "2024-05-04T09:30:00.000Z", "2024-05-04T09:30:00.000Z", True)]
    # the second archived page was asked for with the opaque token exactly as HubSpot gave it
    list_queries = [parse_qs(q) for m, p, q, _ in transport.sent if (m, p) == ("GET", archived["request"]["path"])]
    assert [q.get("after") for q in list_queries] == [None, ["NTI1Cg%3D%3D"]]
    search_bodies = [json.loads(b) for m, p, _, b in transport.sent if (m, p) == ("POST", duplicate["request"]["path"])]
    # keyset paging (test_hubspot_paging.py): no `after`; page 2 is a query from the newest date page 1 held
    assert [b.get("after") for b in search_bodies] == [None, None]
    assert search_bodies[1]["filterGroups"][0]["filters"][0]["value"] == "1714662000000"  # 52's lastmodifieddate


# ---- opaque `after` cursors (item 10) --------------------------------------------------------------------------

def test_opaque_cursors_on_search_and_archived_lists_load_everything_once(hubspot_env, warehouse, monkeypatch):
    cap = 200
    store = hubspot_env.sandbox.hubspot
    store.opaque_search_cursors, store.search_cap = True, cap
    monkeypatch.setenv("SOURCES__HUBSPOT__SEARCH_PAGE_SIZE", "100")
    portal = store.portal
    for contact in portal.records("contacts", archived=False)[:130]:  # more archived contacts than one list page
        store.archive("contacts", contact.id)
    load()
    for table, n in ((CONTACTS, len(portal.objects["contacts"])), (COMPANIES, len(portal.objects["companies"])),
                     (ENGAGEMENTS, len(portal.engagements()))):
        assert warehouse.query(f"select count(*), count(distinct id) from {table}") == [(n, n)], table
    assert warehouse.scalar(f"select count(*) from {CONTACTS} where is_deleted") == len(portal.records("contacts", True)) > 100


# ---- no engagement has associations: the nested table never exists, staging still builds (item 11) ------------

def test_staging_builds_when_no_association_was_ever_loaded(hubspot_env, warehouse):
    hubspot_env.sandbox.hubspot.drop_associations()
    report = load()
    assert report.rows["hubspot__engagements"] == len(hubspot_env.sandbox.hubspot.portal.engagements())
    assert warehouse.scalar("select count(*) from information_schema.tables where table_schema = 'raw' "
                            "and table_name = 'hubspot__engagements__associations'") == 0
    # the CRM marts' tests also check engagement dates against dim_date, which no HubSpot table feeds
    run_dbt("run", "--select", "dim_date")
    run_dbt("build", "--select", "staging.hubspot+")
    assert warehouse.count("staging.stg_hubspot__engagement_associations") == 0
    assert warehouse.count("marts.engagement_contacts") == 0
    assert warehouse.count("staging.stg_hubspot__engagements") == len(
        hubspot_env.sandbox.hubspot.portal.engagements(archived=False))


# ---- dates HubSpot left out: a meeting's start time, createdAt/updatedAt (item 12) -----------------------------

def test_missing_dates_fall_back_in_staging_and_raw_stays_faithful(hubspot_env, warehouse):
    from tests.fixtures.hubspot import hubspot_contract

    store = hubspot_env.sandbox.hubspot
    meeting = hubspot_contract("meeting_without_hs_timestamp")["response"]["results"][0]
    contact = hubspot_contract("contact_without_lastmodifieddate")["response"]["results"][0]
    store.add_from_api("meetings", meeting)
    store.add_from_api("contacts", contact)
    load()
    # raw keeps what HubSpot sent: no hs_timestamp, no hs_createdate, no lastmodifieddate
    assert warehouse.query(f"select hs_timestamp, hs_createdate, hs_meeting_start_time, created_at, updated_at "
                           f"from {ENGAGEMENTS} where id = ?", [meeting["id"]]) == [
        (None, None, "2024-06-03T14:00:00.000Z", "2024-05-20T07:45:00.000Z", "2024-06-04T10:15:00.000Z")]
    assert warehouse.query(f"select createdate, lastmodifieddate, updated_at from {CONTACTS} where id = ?",
                           [contact["id"]]) == [(None, None, "2024-05-06T17:45:12.345Z")]
    run_dbt("build", "--select", "staging.hubspot")
    assert warehouse.query("select cast(engagement_at as varchar), cast(created_at as varchar), "
                           "cast(modified_at as varchar) from staging.stg_hubspot__engagements "
                           "where engagement_id = ?", [meeting["id"]]) == [
        ("2024-06-03 14:00:00", "2024-05-20 07:45:00", "2024-06-04 10:15:00")]
    assert warehouse.query("select cast(created_at as varchar), cast(modified_at as varchar) "
                           "from staging.stg_hubspot__contacts where contact_id = ?", [contact["id"]]) == [
        ("2024-04-02 12:00:00", "2024-05-06 17:45:12.345")]
    # every generated engagement still has its own hs_timestamp as its date
    assert warehouse.scalar("select count(*) from staging.stg_hubspot__engagements where engagement_at is null") == 0


# ---- search pacing (item 13) -----------------------------------------------------------------------------------

def test_search_throttle_spaces_requests_with_an_injected_clock():
    from pipelines.hubspot.client import SearchThrottle

    now, slept = [100.0], []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    throttle = SearchThrottle(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        throttle.wait()
    assert slept == [0.25, 0.25, 0.25, 0.25] and now[0] == 101.0
    now[0] += 2.0  # idle longer than the interval: the next search goes at once
    throttle.wait()
    assert len(slept) == 4
    SearchThrottle(0, clock=lambda: now[0], sleep=sleep).wait()  # 0 turns pacing off
    assert len(slept) == 4


def _warm_up(server) -> None:
    """One search before the measured run: the replica's first answer is slow to start, which skews the first gap."""
    import httpx

    httpx.post(f"{server.hubspot_base_url}/crm/v3/objects/companies/search", json={"limit": 1}, timeout=10,
               headers={"Authorization": f"Bearer {server.sandbox.config.hubspot_token}"}).raise_for_status()
    server.sandbox.hubspot.requests.clear()


def test_searches_are_paced_at_four_a_second_by_default(hubspot_env, warehouse, monkeypatch):
    from pipelines.hubspot.settings import SEARCH_REQUESTS_PER_SECOND

    assert SEARCH_REQUESTS_PER_SECOND == 4
    monkeypatch.delenv("SOURCES__HUBSPOT__SEARCH_REQUESTS_PER_SECOND")
    monkeypatch.setenv("SOURCES__HUBSPOT__SEARCH_PAGE_SIZE", "100")  # a burst of more searches
    _warm_up(hubspot_env)
    load()
    times = hubspot_env.sandbox.hubspot.request_times("POST /crm/v3/objects/search")
    assert len(times) >= 12
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # sent 0.25 s apart; the arrival times the sandbox saw carry some delivery jitter (the first request also opens
    # the connection), so allow 0.12 s of it. Unpaced, these searches come a few milliseconds apart.
    jitter = 0.12
    assert min(gaps) > 0.25 - jitter, gaps
    assert times[-1] - times[0] >= (len(times) - 1) * 0.25 - jitter
    assert sorted(gaps)[len(gaps) // 2] >= 0.24, gaps


def test_configured_search_rate_is_honoured(hubspot_env, warehouse, monkeypatch):
    monkeypatch.setenv("SOURCES__HUBSPOT__SEARCH_REQUESTS_PER_SECOND", "2")
    monkeypatch.setenv("SOURCES__HUBSPOT__SEARCH_PAGE_SIZE", "200")
    _warm_up(hubspot_env)
    load()
    times = hubspot_env.sandbox.hubspot.request_times("POST /crm/v3/objects/search")
    assert len(times) >= 8
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) > 0.5 - 0.12
    assert times[-1] - times[0] >= (len(times) - 1) * 0.5 - 0.12


# ---- malformed records go to raw.hubspot__rejected, the rest loads (issue 14 item 2) ----------------------------

def test_malformed_records_are_rejected_and_the_rest_loads(hubspot_env, warehouse, monkeypatch):
    monkeypatch.setenv("HUBSPOT_REJECTED_THRESHOLD", "0.05")  # 1 of the 50 companies is 2 %, over the 1 % default
    store = hubspot_env.sandbox.hubspot
    portal = store.portal
    contact = portal.records("contacts", archived=False)[2]
    company = portal.records("companies", archived=False)[4]
    call = portal.records("calls", archived=False)[1]
    store.corrupt("contacts", contact.id, updatedAt="31/02/2025 25:61")
    store.corrupt("companies", company.id, updatedAt=None, createdAt="yesterday")
    store.corrupt("calls", call.id, id=None)
    report = load()
    assert report.rejected == {"contacts": 1, "companies": 1, "engagements": 1}
    assert report.rows["hubspot__contacts"] == len(portal.objects["contacts"]) - 1
    assert report.rows["hubspot__companies"] == len(portal.objects["companies"]) - 1
    assert report.rows["hubspot__engagements"] == len(portal.engagements()) - 1
    assert warehouse.scalar(f"select count(*) from {CONTACTS} where id = ?", [contact.id]) == 0
    rejected = warehouse.query("select entity, record_key, origin, reason, payload from raw.hubspot__rejected "
                               "order by entity")
    assert [r[:3] for r in rejected] == [
        ("companies", company.id, "POST /crm/v3/objects/companies/search"),
        ("contacts", contact.id, "POST /crm/v3/objects/contacts/search"),
        ("engagements", None, "POST /crm/v3/objects/calls/search")]
    reasons = {r[0]: r[3] for r in rejected}
    assert reasons["contacts"] == "updatedAt='31/02/2025 25:61' is not a timestamp"
    assert reasons["companies"] == "createdAt='yesterday' is not a timestamp"
    assert reasons["engagements"] == "the record has no id"
    assert json.loads(rejected[2][4])["properties"]["hs_object_id"] == call.id
    assert "rejected: 3 records (companies 1, contacts 1, engagements 1)" in report.render()


# ---- readable HTTP failures (issue 14 item 7) --------------------------------------------------------------------

def test_gateway_error_without_category_says_the_status_text_and_endpoint():
    from pipelines.common.errors import SourceError
    from pipelines.hubspot.client import _raise_actionable

    response = Response()
    response.status_code, response.reason = 503, "Service Unavailable"
    response._content = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
    with pytest.raises(SourceError) as caught:
        _raise_actionable(response, "the contacts search", "POST /crm/v3/objects/contacts/search")
    assert str(caught.value) == ("HubSpot answered 503 Service Unavailable for the contacts search "
                                 "(POST /crm/v3/objects/contacts/search)")
    response.reason = ""  # no reason phrase on the wire either: the standard one
    with pytest.raises(SourceError, match="answered 503 Service Unavailable for"):
        _raise_actionable(response, "the contacts search", "POST /crm/v3/objects/contacts/search")
    response.status_code, response._content = 400, b'{"status": "error", "category": "VALIDATION_ERROR"}'
    with pytest.raises(SourceError, match=r"answered 400 VALIDATION_ERROR for the contacts search \(POST "):
        _raise_actionable(response, "the contacts search", "POST /crm/v3/objects/contacts/search")


def test_a_body_that_is_not_json_names_the_endpoint(hubspot_env, warehouse):
    hubspot_env.sandbox.traffic.inject_malformed("hubspot", 1)  # the very first answer: the contacts search
    result = _cli({**os.environ})
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "HubSpot sent a body that is not valid JSON for the contacts search " \
           "(POST /crm/v3/objects/contacts/search)" in result.stderr

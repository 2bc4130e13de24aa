"""The HubSpot replica honours the contract the pipeline relies on (auth, strings, search, cap, 414, 429, v4)."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from sandbox.hubspot_data import ENGAGEMENT_TYPES
from tests.fixtures.hubspot import hubspot_contract

HEADERS = {"Authorization": "Bearer sandbox-hubspot-token"}


@pytest.fixture
def api(sandbox_server):
    with httpx.Client(base_url=sandbox_server.hubspot_base_url, headers=HEADERS, timeout=10) as client:
        yield client


def _search(api, object_type: str, filters: list[dict], **extra) -> httpx.Response:
    prop = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
    body = {"filterGroups": [{"filters": filters}], "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
            "limit": 200, **extra}
    return api.post(f"/crm/v3/objects/{object_type}/search", json=body)


def test_generator_holds_the_scenarios(sandbox_server):
    portal = sandbox_server.sandbox.hubspot.portal
    assert 250 <= len(portal.objects["contacts"]) <= 400 and len(portal.objects["companies"]) == 50
    assert all(portal.records(t) for t in ENGAGEMENT_TYPES)
    assert portal.records("contacts", archived=True) and portal.engagements(archived=True)
    assert any(c.updated_at > c.created_at for c in portal.records("contacts") if c.updated_at not in portal.bulk_stamps.values())
    stamp = portal.bulk_stamps["contacts"]
    assert sum(c.updated_at == stamp for c in portal.records("contacts")) > 100, "a bulk update larger than a small cap"
    assert portal.fading_contact_ids
    # work-week rhythm: far more touches on weekdays than at weekends
    days = [e.properties["hs_timestamp"] for e in portal.engagements()]
    from datetime import date
    weekend = sum(date.fromisoformat(d[:10]).weekday() >= 5 for d in days)
    assert weekend < len(days) * 0.05


def test_bad_token_is_401_invalid_authentication(sandbox_server):
    r = httpx.get(f"{sandbox_server.hubspot_base_url}/crm/v3/objects/contacts", headers={"Authorization": "Bearer no"})
    assert (r.status_code, r.json()["category"]) == (401, "INVALID_AUTHENTICATION")


def test_list_pages_by_after_and_values_are_strings_or_null(api, sandbox_server):
    live = len(sandbox_server.sandbox.hubspot.portal.records("contacts", archived=False))
    seen, after = [], None
    while True:
        r = api.get("/crm/v3/objects/contacts", params={"limit": 100, "properties": "phone,jobtitle,nope",
                                                          **({"after": after} if after else {})})
        assert r.status_code == 200 and "X-HubSpot-RateLimit-Remaining" in r.headers
        body = r.json()
        seen += body["results"]
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
    assert len(seen) == live == len({c["id"] for c in seen})
    for c in seen:
        assert "nope" not in c["properties"]
        assert all(v is None or isinstance(v, str) for v in c["properties"].values())
    assert any(c["properties"]["phone"] is None for c in seen)


def test_archived_list_has_archived_at(api, sandbox_server):
    body = api.get("/crm/v3/objects/calls", params={"archived": "true", "limit": 100}).json()
    expected = {r.id for r in sandbox_server.sandbox.hubspot.portal.records("calls", archived=True)}
    assert {r["id"] for r in body["results"]} == expected
    assert all(r["archived"] and r["archivedAt"] for r in body["results"])


def test_list_with_associations(api):
    body = api.get("/crm/v3/objects/meetings", params={"limit": 5, "associations": "contacts,companies"}).json()
    assert all(r["associations"]["contacts"]["results"] for r in body["results"])


def test_search_filters_sorts_counts_and_excludes_archived(api, sandbox_server):
    portal = sandbox_server.sandbox.hubspot.portal
    stamp = portal.bulk_stamps["contacts"]
    ms = str(int(stamp.timestamp() * 1000))
    body = _search(api, "contacts", [{"propertyName": "lastmodifieddate", "operator": "EQ", "value": ms}]).json()
    expected = [c for c in portal.records("contacts", archived=False) if c.updated_at == stamp]
    assert body["total"] == len(expected)
    after = _search(api, "contacts", [{"propertyName": "lastmodifieddate", "operator": "GT", "value": ms}]).json()
    assert after["total"] == sum(c.updated_at > stamp for c in portal.records("contacts", archived=False))
    stamps = [r["properties"]["lastmodifieddate"] for r in after["results"]]
    assert stamps == sorted(stamps)


def test_search_limit_and_paging_past_the_cap_is_400(api, sandbox_server):
    assert _search(api, "emails", [], limit=201).status_code == 400
    sandbox_server.sandbox.hubspot.search_cap = 50
    first = _search(api, "emails", [], limit=50).json()
    assert len(first["results"]) == 50 and first["paging"]["next"]["after"] == "50"
    r = _search(api, "emails", [], limit=50, after="50")
    assert r.status_code == 400 and r.json()["category"] == "VALIDATION_ERROR"


def test_long_properties_query_is_414(api):
    long = ",".join(f"custom_property_{i}" for i in range(200))
    assert api.get("/crm/v3/objects/contacts", params={"properties": long}).status_code == 414


def test_rate_limit_is_429_with_policy_name_and_headers(api, sandbox_server):
    sandbox_server.sandbox.traffic.set_rate_limit("hubspot", 2, window_seconds=10.0)
    statuses = [api.get("/crm/v3/objects/companies").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    r = api.get("/crm/v3/objects/companies")
    assert r.json()["policyName"] == "TEN_SECONDLY_ROLLING" and r.json()["errorType"] == "RATE_LIMIT"
    assert int(r.headers["Retry-After"]) >= 1 and r.headers["X-HubSpot-RateLimit-Max"] == "2"
    assert r.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"


def test_v4_associations_single_and_batch(api, sandbox_server):
    meeting = sandbox_server.sandbox.hubspot.portal.records("meetings", archived=False)[0]
    one = api.get(f"/crm/v4/objects/meetings/{meeting.id}/associations/contacts").json()
    assert [str(r["toObjectId"]) for r in one["results"]] == sorted(meeting.contact_ids, key=int)
    r = api.post("/crm/v4/associations/meetings/contacts/batch/read", json={"inputs": [{"id": meeting.id}, {"id": "1"}]})
    assert r.status_code == 207 and r.json()["results"][0]["from"]["id"] == meeting.id
    assert r.json()["errors"][0]["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"


def test_admin_edit_archive_and_bulk_stamp(sandbox_server):
    base = sandbox_server.url
    store = sandbox_server.sandbox.hubspot
    contact = store.portal.records("contacts", archived=False)[0]
    r = httpx.post(f"{base}/_sandbox/hubspot/contacts/{contact.id}", json={"changes": {"jobtitle": "Astronaut"}})
    assert r.json()["properties"]["jobtitle"] == "Astronaut"
    assert httpx.post(f"{base}/_sandbox/hubspot/contacts/{contact.id}/archive").json()["archived"] is True
    ids = [c.id for c in store.portal.records("companies", archived=False)[:3]]
    httpx.post(f"{base}/_sandbox/hubspot/companies/bulk_stamp", json={"ids": ids, "changes": {"city": "Porto"}})
    assert len({store.get("companies", i).updated_at for i in ids}) == 1


@pytest.mark.parametrize("days", [1, 14, 59])
def test_short_lives_generate_a_consistent_portal(days):
    """A user trying the sandbox for a week or a month gets a small CRM, not a crash."""
    from sandbox.hubspot_data import generate_portal
    from sandbox.life import LifeConfig, SyntheticLife

    life = SyntheticLife(LifeConfig(days=days))
    portal = generate_portal(life)
    engagements = [e for t, recs in portal.objects.items() if t not in ("contacts", "companies") for e in recs.values()]
    assert len(portal.objects["contacts"]) == 300 and engagements
    last = life.at(life.config.end, 23, 59)
    assert all(e.created_at <= last for e in engagements)


# ---- opaque cursors, stale copies, malformed records, pacing log (api reference 2.6) -------------------------

OPAQUE = re.compile(r"^[A-Za-z0-9+/]+(%3D){0,2}$")


def test_list_after_is_an_opaque_token(api, sandbox_server):
    first = api.get("/crm/v3/objects/contacts", params={"limit": 100}).json()
    token = first["paging"]["next"]["after"]
    assert OPAQUE.match(token) and not token.isdigit(), token
    assert first["paging"]["next"]["link"].endswith(f"?after={token}&limit=100")
    second = api.get("/crm/v3/objects/contacts", params={"limit": 100, "after": token})
    assert second.status_code == 200
    assert int(second.json()["results"][0]["id"]) > int(first["results"][-1]["id"])
    # the link, followed as given (its token already URL-encoded), reaches the same page
    followed = api.get(f"/crm/v3/objects/contacts?after={token}&limit=100")
    assert followed.json()["results"] == second.json()["results"]
    # a number is not a token this endpoint issued
    bad = api.get("/crm/v3/objects/contacts", params={"limit": 100, "after": first["results"][-1]["id"]})
    assert bad.status_code == 400 and bad.json()["category"] == "VALIDATION_ERROR"


def test_search_after_can_be_opaque_and_the_cap_still_holds(api, sandbox_server):
    store = sandbox_server.sandbox.hubspot
    store.opaque_search_cursors, store.search_cap = True, 50
    first = _search(api, "emails", [], limit=25).json()
    token = first["paging"]["next"]["after"]
    assert OPAQUE.match(token) and not token.isdigit()
    second = _search(api, "emails", [], limit=25, after=token).json()
    assert {r["id"] for r in first["results"]}.isdisjoint(r["id"] for r in second["results"])
    past = _search(api, "emails", [], limit=25, after=second["paging"]["next"]["after"])
    assert past.status_code == 400


@pytest.mark.parametrize("position", ["first", "last"])
def test_stale_copy_serves_one_id_twice_in_one_search(api, sandbox_server, position):
    store = sandbox_server.sandbox.hubspot
    contact = store.portal.records("contacts", archived=False)[3]
    store.stale_copy("contacts", contact.id, position)
    store.edit("contacts", contact.id, {"jobtitle": "Harbour Master"})
    served, after = [], None
    while True:
        body = _search(api, "contacts", [], properties=["jobtitle"], **({"after": after} if after else {})).json()
        served += body["results"]
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
    copies = [r for r in served if r["id"] == contact.id]
    assert len(copies) == 2 and len(served) == len(store.portal.records("contacts", archived=False)) + 1
    newer = "Harbour Master"
    assert [c["properties"]["jobtitle"] for c in copies].index(newer) == (1 if position == "first" else 0)
    assert served.index(copies[0]) == (0 if position == "first" else len(served) - 2)
    # served once: the next search has only the current version
    assert sum(r["id"] == contact.id for r in _search(api, "contacts", [], limit=200).json()["results"]) <= 1


def test_corrupted_record_is_served_malformed(api, sandbox_server):
    store = sandbox_server.sandbox.hubspot
    contact, company = store.portal.records("contacts", archived=False)[0], store.portal.records("companies")[0]
    store.corrupt("contacts", contact.id, updatedAt="31/02/2025 25:61")
    store.corrupt("companies", company.id, id=None)
    contacts = api.get("/crm/v3/objects/contacts", params={"limit": 100}).json()["results"]
    assert [c["updatedAt"] for c in contacts if c["id"] == contact.id] == ["31/02/2025 25:61"]
    companies = api.get("/crm/v3/objects/companies", params={"limit": 100}).json()["results"]
    assert sum("id" not in c for c in companies) == 1


def test_gateway_errors_have_no_category(api, sandbox_server):
    sandbox_server.sandbox.traffic.inject("hubspot", [503])
    r = api.get("/crm/v3/objects/companies")
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
    assert "Service Unavailable" in r.text and "category" not in r.text
    assert api.get("/crm/v3/objects/companies").json()["results"]


def test_requests_are_logged_with_their_time(api, sandbox_server):
    store = sandbox_server.sandbox.hubspot
    before = time.monotonic()
    _search(api, "calls", [])
    api.get("/crm/v3/objects/calls")
    _search(api, "notes", [])
    times = store.request_times("POST /crm/v3/objects/search")
    assert len(times) == 2 and before <= times[0] <= times[1] <= time.monotonic()
    assert len(store.request_times()) == 3


def test_drop_associations_leaves_no_engagement_linked(api, sandbox_server):
    store = sandbox_server.sandbox.hubspot
    store.drop_associations()
    meeting = store.portal.records("meetings", archived=False)[0]
    r = api.post("/crm/v4/associations/meetings/contacts/batch/read", json={"inputs": [{"id": meeting.id}]})
    assert r.status_code == 207 and r.json()["results"] == []


# ---- the replica serves the contract fixtures' shapes (tests/fixtures/hubspot/, provenance in its README) ------

@pytest.fixture
def empty_replica(sandbox_server, api):
    """The HubSpot replica with an empty portal, serving contract fixtures and nothing else."""
    from sandbox.hubspot_data import OBJECT_TYPES, HubSpotPortal

    sandbox_server.sandbox.hubspot.portal = HubSpotPortal({t: {} for t in OBJECT_TYPES})
    return sandbox_server.sandbox.hubspot, api


def test_replica_serves_the_opaque_cursor_fixture(empty_replica):
    store, client = empty_replica
    fixture = hubspot_contract("list_archived_opaque_cursor")
    for page in fixture["pages"]:
        for record in page["results"]:
            store.add_from_api("contacts", record)
    served, after = [], None
    while True:
        params = {**fixture["request"]["params"], **({"after": after} if after else {})}
        body = client.get(fixture["request"]["path"], params=params).json()
        served.append(body)
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
    assert [p["results"] for p in served] == [p["results"] for p in fixture["pages"]]
    # the very token HubSpot documents for this position
    assert served[0]["paging"]["next"]["after"] == fixture["pages"][0]["paging"]["next"]["after"] == "NTI1Cg%3D%3D"


def test_replica_serves_a_record_edited_between_two_search_pages_twice(empty_replica):
    from datetime import datetime

    store, client = empty_replica
    fixture = hubspot_contract("search_duplicate_in_one_run")
    first_page, second_page = fixture["pages"]
    for record in [*first_page["results"], *fixture["skipped"]]:
        store.add_from_api("contacts", record)
    request = fixture["request"]
    assert client.post(request["path"], json=request["body"]).json() == first_page
    edited = second_page["results"][0]
    store.edit("contacts", edited["id"], {"jobtitle": edited["properties"]["jobtitle"]},
               at=datetime.fromisoformat(edited["updatedAt"].replace("Z", "+00:00")))
    after = first_page["paging"]["next"]["after"]
    assert client.post(request["path"], json={**request["body"], "after": after}).json() == second_page


@pytest.mark.parametrize("name, object_type", [("meeting_without_hs_timestamp", "meetings"),
                                               ("contact_without_lastmodifieddate", "contacts")])
def test_replica_serves_records_with_missing_properties_as_given(empty_replica, name, object_type):
    store, client = empty_replica
    fixture = hubspot_contract(name)
    expected = fixture["response"]["results"][0]
    store.add_from_api(object_type, expected)
    # ask for more than the record has (hs_timestamp, the modified dates): what it lacks stays out
    wanted = [*expected["properties"], "hs_timestamp", "hs_createdate", "createdate", "lastmodifieddate"]
    body = client.post(fixture["request"]["path"], json={"properties": wanted, "limit": 10}).json()
    assert body == fixture["response"]

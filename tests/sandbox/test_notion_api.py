"""The Notion replica honours the contract the pipeline relies on (versions, auth, errors, paging, limits)."""

from __future__ import annotations

import httpx
import pytest

HEADERS = {"Notion-Version": "2025-09-03", "Authorization": "Bearer sandbox-notion-token"}


@pytest.fixture
def api(sandbox_server):
    with httpx.Client(base_url=sandbox_server.notion_base_url, headers=HEADERS, timeout=10) as client:
        yield client


def _daily(sandbox_server):
    ws = sandbox_server.sandbox.notion.ws
    return next(ds for ds in ws.data_sources.values() if ds.frequency == "daily")


def test_missing_version_is_400_missing_version(sandbox_server):
    r = httpx.get(f"{sandbox_server.notion_base_url}/databases/x", headers={"Authorization": HEADERS["Authorization"]})
    assert r.status_code == 400
    assert r.json()["code"] == "missing_version"


def test_bad_token_is_401_unauthorized(sandbox_server):
    r = httpx.get(f"{sandbox_server.notion_base_url}/databases/x",
                  headers={**HEADERS, "Authorization": "Bearer nope"})
    assert (r.status_code, r.json()["code"], r.json()["object"]) == (401, "unauthorized", "error")


def test_unknown_or_unshared_database_is_404_object_not_found(api, sandbox_server):
    assert api.get("/databases/00000000-0000-0000-0000-000000000000").json()["code"] == "object_not_found"
    ds = _daily(sandbox_server)
    sandbox_server.sandbox.notion.unshare(ds.database_id)
    r = api.get(f"/databases/{ds.database_id}")
    assert r.status_code == 404


def test_database_lists_data_sources_and_data_source_has_schema(api, sandbox_server):
    ds = _daily(sandbox_server)
    db = api.get(f"/databases/{ds.database_id}").json()
    assert "properties" not in db
    assert db["data_sources"] == [{"id": ds.id, "name": "Daily Habits"}]
    schema = api.get(f"/data_sources/{ds.id}").json()
    types = {p["type"] for p in schema["properties"].values()}
    assert {"title", "date", "checkbox", "number", "select", "multi_select"} <= types


def test_query_pages_through_every_live_page_with_minute_timestamps(api, sandbox_server):
    ds = _daily(sandbox_server)
    live = {p.id for p in sandbox_server.sandbox.notion.ws.pages.values() if p.data_source_id == ds.id and not p.in_trash}
    seen, cursor, calls = [], None, 0
    while True:
        body = {"page_size": 100, **({"start_cursor": cursor} if cursor else {})}
        page = api.post(f"/data_sources/{ds.id}/query", json=body).json()
        calls += 1
        seen += page["results"]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert {p["id"] for p in seen} == live
    assert len(seen) == len(live)
    assert calls == -(-len(live) // 100)
    assert all(p["last_edited_time"].endswith(":00.000Z") for p in seen)
    assert sandbox_server.sandbox.traffic.count("notion", "POST /v1/data_sources/query") == calls


def test_last_edited_filter_returns_live_pages_in_edit_order(api, sandbox_server):
    ds = _daily(sandbox_server)
    pages = [p for p in sandbox_server.sandbox.notion.ws.pages.values() if p.data_source_id == ds.id and not p.in_trash]
    cutoff = sorted(p.last_edited_time for p in pages)[-10]
    stamp = cutoff.strftime("%Y-%m-%dT%H:%M:00.000Z")
    body = {"filter": {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": stamp}},
            "sorts": [{"timestamp": "last_edited_time", "direction": "ascending"}]}
    results = api.post(f"/data_sources/{ds.id}/query", json=body).json()["results"]
    assert len(results) == sum(1 for p in pages if p.last_edited_time >= cutoff)
    assert not any(r["in_trash"] for r in results)
    assert [r["last_edited_time"] for r in results] == sorted(r["last_edited_time"] for r in results)
    after = api.post(f"/data_sources/{ds.id}/query", json={
        "filter": {"timestamp": "last_edited_time", "last_edited_time": {"after": stamp}}}).json()["results"]
    assert len(after) < len(results)


@pytest.mark.parametrize("flag", ["in_trash", "is_archived"])
def test_trash_flag_in_the_query_returns_only_trashed_pages(api, sandbox_server, flag):
    """api-reference 1.3: `in_trash: true` returns *only* trashed pages (`is_archived` likewise), not both sets."""
    ds = _daily(sandbox_server)
    store = sandbox_server.sandbox.notion
    trashed = {p.id for p in store.ws.pages.values() if p.data_source_id == ds.id and p.in_trash}
    assert trashed
    results = api.post(f"/data_sources/{ds.id}/query", json={flag: True}).json()["results"]
    assert {r["id"] for r in results} == trashed
    assert all(r["in_trash"] for r in results)

    live = next(p for p in store.ws.pages.values() if p.data_source_id == ds.id and not p.in_trash)
    store.trash_page(live.id)
    assert live.id in {r["id"] for r in api.post(f"/data_sources/{ds.id}/query", json={flag: True}).json()["results"]}
    everything_live = api.post(f"/data_sources/{ds.id}/query", json={"page_size": 100}).json()
    assert live.id not in {r["id"] for r in everything_live["results"]}


def test_filter_properties_returns_only_those_properties(api, sandbox_server):
    ds = _daily(sandbox_server)
    page = api.post(f"/data_sources/{ds.id}/query", params={"filter_properties": "title"},
                    json={"page_size": 5}).json()["results"][0]
    assert list(page["properties"]) == ["Name"] and page["properties"]["Name"]["id"] == "title"
    assert {"id", "in_trash", "last_edited_time"} <= set(page)
    date_id = ds.prop_by_name("Date").id
    both = api.post(f"/data_sources/{ds.id}/query", params=[("filter_properties", "title"), ("filter_properties", date_id)],
                    json={"page_size": 5}).json()["results"][0]
    assert set(both["properties"]) == {"Name", "Date"}
    traffic = sandbox_server.sandbox.traffic
    assert traffic.count("notion", "POST /v1/data_sources/query?filter_properties") == 2


def test_malformed_page_knob_serves_the_broken_field(api, sandbox_server):
    ds = _daily(sandbox_server)
    store = sandbox_server.sandbox.notion
    page = next(p for p in store.ws.pages.values() if p.data_source_id == ds.id and not p.in_trash)
    store.malform_page(page.id, last_edited_time=None)
    oldest_first = {"page_size": 5, "sorts": [{"timestamp": "created_time", "direction": "ascending"}]}
    served = [r for r in api.post(f"/data_sources/{ds.id}/query", json=oldest_first).json()["results"] if r["id"] == page.id]
    assert [r["last_edited_time"] for r in served] == [None]


def test_page_size_over_100_is_rejected(api, sandbox_server):
    r = api.post(f"/data_sources/{_daily(sandbox_server).id}/query", json={"page_size": 101})
    assert (r.status_code, r.json()["code"]) == (400, "validation_error")


def test_rate_limit_answers_429_with_retry_after(api, sandbox_server):
    sandbox_server.sandbox.traffic.set_rate_limit("notion", 2, window_seconds=30)
    ds = _daily(sandbox_server)
    codes = [api.get(f"/data_sources/{ds.id}").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = api.get(f"/data_sources/{ds.id}")
    assert r.json()["code"] == "rate_limited"
    assert r.json()["additional_data"]["rate_limit_reason"] == "public_api_request_rate_limit"
    assert 1 <= int(r.headers["Retry-After"]) <= 30


def test_result_cap_marks_the_response_incomplete(api, sandbox_server):
    sandbox_server.sandbox.notion.result_cap = 5
    page = api.post(f"/data_sources/{_daily(sandbox_server).id}/query", json={"page_size": 3}).json()
    assert page["request_status"] == {"type": "incomplete", "incomplete_reason": "query_result_limit_reached"}


def test_rename_changes_the_key_but_not_the_property_id(api, sandbox_server):
    ds = _daily(sandbox_server)
    pid = sandbox_server.sandbox.notion.rename_property(ds.id, "Meditate", "Mindfulness")
    props = api.get(f"/data_sources/{ds.id}").json()["properties"]
    assert props["Mindfulness"]["id"] == pid
    assert "Meditate" not in props

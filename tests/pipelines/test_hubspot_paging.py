"""HubSpot search paging against the sandbox over real HTTP: an edit while the run pages loses nothing, a portal
larger than the search result cap loads whole, a second run loads nothing, and the requests are counted.

The replica pages like HubSpot's search (api reference 2.2): `after` is an offset into the result set as it is at
each request, and `after` at or past the cap is refused with 400. A short life (60 days) and a small cap (50, pages
of 10) keep the file fast while every object type still needs several pages and the contacts outgrow the cap.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest
from requests import Response

from pipelines.common.incremental_window import iso_ms
from pipelines.common.runner import RunReport, run_source
from pipelines.hubspot import hubspot_source
from pipelines.hubspot.settings import LAG_SECONDS, OBJECT_TABLES
from sandbox.app import SandboxConfig
from sandbox.hubspot_data import OBJECT_TYPES
from sandbox.life import LifeConfig
from sandbox.server import SandboxServer
from tests.conftest import Warehouse

SHORT_LIFE = LifeConfig(seed=42, start=date(2025, 1, 1), days=60)
CAP, PAGE = 50, 10
CONTACTS, COMPANIES, ENGAGEMENTS = "raw.hubspot__contacts", "raw.hubspot__companies", "raw.hubspot__engagements"
SEARCH = "POST /crm/v3/objects/search"


pytestmark = pytest.mark.usefixtures("ledger_off")  # what the source loads; the ledger has its own tests


def _configure(mp: pytest.MonkeyPatch, server: SandboxServer) -> None:
    """The source pointed at the sandbox, paging by 10, pacing off."""
    for name, value in server.pipeline_env().items():
        if name.startswith("SOURCES__HUBSPOT__"):
            mp.setenv(name, value)
    mp.setenv("SOURCES__HUBSPOT__SEARCH_PAGE_SIZE", str(PAGE))
    mp.setenv("SOURCES__HUBSPOT__SEARCH_REQUESTS_PER_SECOND", "0")


@pytest.fixture
def small_cap_env(monkeypatch):
    """A sandbox whose search refuses `after` >= 50, and the source configured to page by 10."""
    with SandboxServer(SandboxConfig(life=SHORT_LIFE, hubspot_search_cap=CAP)) as server:
        _configure(monkeypatch, server)
        yield server


def load():
    return run_source("hubspot", hubspot_source)


def live_ids(store, *object_types: str) -> set[str]:
    return {r.id for t in object_types for r in store.portal.records(t, archived=False)}


def loaded_ids(warehouse, table: str) -> set[str]:
    return {i for (i,) in warehouse.query(f"select id from {table} where not is_deleted")}


def in_sort_order(store, object_type: str):
    """Live records in the order the search serves them (modified date, then id)."""
    return sorted(store.portal.records(object_type, archived=False), key=lambda r: (r.updated_at, int(r.id)))


def _replica(server: SandboxServer) -> httpx.Client:
    return httpx.Client(base_url=server.hubspot_base_url, timeout=10,
                        headers={"Authorization": f"Bearer {server.sandbox.config.hubspot_token}"})


def test_the_replica_refuses_after_at_the_configured_cap(small_cap_env):
    """The cap the other tests rely on is real: `after` 50 is a 400, as `after` 10,000 is on HubSpot."""
    body = {"sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}], "limit": PAGE}
    with _replica(small_cap_env) as api:
        last = api.post("/crm/v3/objects/contacts/search", json={**body, "after": str(CAP - PAGE)})
        assert last.status_code == 200 and last.json()["paging"]["next"]["after"] == str(CAP)
        refused = api.post("/crm/v3/objects/contacts/search", json={**body, "after": str(CAP)})
        assert refused.status_code == 400 and refused.json()["category"] == "VALIDATION_ERROR"


def test_the_replica_shifts_offsets_when_a_record_is_edited_between_two_pages(small_cap_env):
    """The knob the pipeline test uses, over its admin route: an edit after page 1 moves every later record one
    place back, so offset 10 now starts at what was the 12th record (HubSpot's `after` is such an offset)."""
    store = small_cap_env.sandbox.hubspot
    order = [r.id for r in in_sort_order(store, "calls")]
    body = {"sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}], "limit": PAGE}
    with _replica(small_cap_env) as api:
        admin = httpx.post(f"{small_cap_env.url}/_sandbox/hubspot/calls/{order[0]}/edit_between_pages",
                           json={"changes": {"hs_call_title": "moved"}, "after_pages": 1}, timeout=10)
        assert admin.status_code == 200
        first = api.post("/crm/v3/objects/calls/search", json=body).json()
        assert [r["id"] for r in first["results"]] == order[:PAGE]
        second = api.post("/crm/v3/objects/calls/search", json={**body, "after": first["paging"]["next"]["after"]})
        assert [r["id"] for r in second.json()["results"]] == order[PAGE + 1:2 * PAGE + 1], "order[PAGE] is skipped"
    assert store.get("calls", order[0]).properties["hs_call_title"] == "moved"


def test_an_edit_while_paging_loses_nothing_and_the_newest_version_wins(small_cap_env, warehouse):
    """Two records already served on page 1 are edited before page 2 is asked for. On offset paging each edit
    moves every later record one place back, so the record at the page boundary is never served."""
    store = small_cap_env.sandbox.hubspot
    # a contact edited now: its new version is past this run's upper bound and belongs to the next run
    contact = in_sort_order(store, "contacts")[0]
    store.edit_between_pages("contacts", contact.id, {"jobtitle": "Head of Paging"})
    # a call whose new modified date is still inside this run's window (as the search index can show it):
    # read twice in one run, the newer version must be what stays
    calls = in_sort_order(store, "calls")
    call = calls[0]
    newer = calls[-1].updated_at + timedelta(minutes=1)
    store.edit_between_pages("calls", call.id, {"hs_call_title": "Edited while paging"}, at=newer)
    skipped_by_offsets = {in_sort_order(store, "contacts")[PAGE].id, calls[PAGE].id}

    report = load()

    assert skipped_by_offsets <= loaded_ids(warehouse, CONTACTS) | loaded_ids(warehouse, ENGAGEMENTS)
    assert loaded_ids(warehouse, CONTACTS) == live_ids(store, "contacts")
    assert loaded_ids(warehouse, ENGAGEMENTS) == live_ids(store, "calls", "emails", "meetings", "notes", "tasks")
    assert warehouse.query(f"select hs_call_title, updated_at from {ENGAGEMENTS} where id = ?", [call.id]) == [
        ("Edited while paging", iso_ms(newer))]
    for table in (CONTACTS, ENGAGEMENTS):
        assert warehouse.scalar(f"select count(*) - count(distinct id) from {table}") == 0, table
    assert report.rows["hubspot__contacts"] == len(store.portal.objects["contacts"])
    assert report.rows["hubspot__engagements"] == len(store.portal.engagements()) + 1, \
        "both versions of the call were read: the merge's dedup_sort kept the newer"
    # the contact's edit lies past the first run's window: the next run loads exactly that
    assert warehouse.query(f"select jobtitle from {CONTACTS} where id = ?", [contact.id]) != [("Head of Paging",)]
    again = load()
    assert again.rows == {"hubspot__contacts": 1}
    assert warehouse.query(f"select jobtitle from {CONTACTS} where id = ?", [contact.id]) == [("Head of Paging",)]


@dataclass
class TwoRuns:
    """A first load of a fresh portal and a second one right after it, with what each left in the run log."""

    server: SandboxServer
    warehouse: Warehouse
    first: RunReport
    second: RunReport
    first_requests: dict[str, int]  # sandbox request counts per endpoint, as the sandbox saw them
    second_requests: dict[str, int]
    first_log: str
    second_log: str


def _search_log(text: str) -> dict[str, tuple[int, int]]:
    """object type -> (records, search requests), from the source's one log line per object type."""
    return {t: (int(n), int(r)) for t, n, r in re.findall(r"HubSpot (\w+) search: (\d+) records in (\d+) requests", text)}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Built once for the tests below: two loads cost a few seconds, the assertions none."""
    root = tmp_path_factory.mktemp("hubspot_paging")
    with pytest.MonkeyPatch.context() as mp, SandboxServer(SandboxConfig(life=SHORT_LIFE, hubspot_search_cap=CAP)) as server:
        _configure(mp, server)
        mp.setenv("WAREHOUSE_PATH", str(root / "warehouse.duckdb"))
        mp.setenv("PIPELINES_DIR", str(root / "dlt_pipelines"))
        mp.setenv("PIPELINE_DESTINATION", "duckdb")
        for var in ("FORCE_FULL_REFRESH", "HUBSPOT_FULL_REFRESH"):
            mp.delenv(var, raising=False)
        logger = logging.getLogger("pipelines.hubspot.client")
        runs = []
        for _ in range(2):
            server.sandbox.traffic.reset()
            stream = io.StringIO()
            handler = logging.StreamHandler(stream)
            level = logger.level
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            try:
                report = load()
            finally:
                logger.removeHandler(handler)
                logger.setLevel(level)
            runs.append((report, dict(server.sandbox.traffic.counts), stream.getvalue()))
        (first, first_requests, first_log), (second, second_requests, second_log) = runs
        yield TwoRuns(server, Warehouse(root / "warehouse.duckdb"), first, second, first_requests, second_requests,
                      first_log, second_log)


def test_more_records_than_the_cap_all_load(two_runs):
    """294 live contacts (127 of them stamped by one bulk update) and a search that refuses `after` >= 50."""
    portal, warehouse = two_runs.server.sandbox.hubspot.portal, two_runs.warehouse
    assert len(portal.records("contacts", archived=False)) > 5 * CAP
    stamp = portal.bulk_stamps["contacts"]
    assert sum(c.updated_at == stamp for c in portal.records("contacts", archived=False)) > CAP, \
        "one modified instant holds more contacts than the cap"
    for table, n in ((CONTACTS, len(portal.objects["contacts"])), (COMPANIES, len(portal.objects["companies"])),
                     (ENGAGEMENTS, len(portal.engagements()))):
        assert warehouse.query(f"select count(*), count(distinct id) from {table}") == [(n, n)], table
    assert two_runs.first.rows["hubspot__contacts"] == len(portal.objects["contacts"])
    assert {t: n for t, (n, _) in _search_log(two_runs.first_log).items()} == {
        t: len(portal.records(t, archived=False)) for t in OBJECT_TYPES}, "each live record served once"


def test_a_second_run_loads_nothing_and_reads_only_the_lag_window(two_runs):
    store = two_runs.server.sandbox.hubspot
    assert two_runs.second.total_rows == 0
    assert two_runs.warehouse.count(CONTACTS) == len(store.portal.objects["contacts"])
    # it re-reads the lag window below the cursor (the run log counts it), not the history: a type with nothing
    # in the window costs one search
    windows = {}
    for types in OBJECT_TABLES.values():
        newest = max(r.updated_at for t in types for r in store.portal.objects[t].values())
        for t in types:
            windows[t] = sum(r.updated_at >= newest - timedelta(seconds=LAG_SECONDS)
                             for r in store.portal.records(t, archived=False))
    second = _search_log(two_runs.second_log)
    assert {t: n for t, (n, _) in second.items()} == windows
    for object_type, (n, requests) in second.items():
        # a page per PAGE records and the short last one; for an instant filling a page: the page that finds it
        # and the query after it
        assert requests <= n // PAGE + (3 if n >= PAGE else 1), object_type
    assert any(n == 0 for n in windows.values()) and any(n >= PAGE for n in windows.values())


def test_requests_are_counted_and_reported(two_runs):
    for report, seen, text in ((two_runs.first, two_runs.first_requests, two_runs.first_log),
                               (two_runs.second, two_runs.second_requests, two_runs.second_log)):
        assert report.api_requests == sum(seen.values()) > 0
        assert f"API requests: {report.api_requests} " in report.render()
        # every search is in the run log, per object type
        per_type = _search_log(text)
        assert set(per_type) == set(OBJECT_TYPES)
        assert sum(r for _, r in per_type.values()) == seen["hubspot " + SEARCH]
    # paging by keyset costs one request a page, plus one per instant shared across a page boundary
    portal = two_runs.server.sandbox.hubspot.portal
    for object_type, (_, requests) in _search_log(two_runs.first_log).items():
        pages = len(portal.records(object_type, archived=False)) // PAGE + 1
        assert pages <= requests <= pages * 3 // 2, object_type


def test_paginator_pins_an_instant_that_fills_a_page_and_refuses_a_page_it_cannot_continue_from():
    """The paginator's own decisions, on pages given directly (no HTTP): what the next query asks for."""
    from pipelines.common.errors import SourceError
    from pipelines.hubspot.client import KeysetSearchPaginator

    def rec(i: int, ms: int | None) -> dict:
        return {"id": str(i), "properties": {"hs_lastmodifieddate": None if ms is None else str(ms)}}

    def filters(p: KeysetSearchPaginator) -> list[tuple]:
        return [(f["propertyName"], f["operator"], f["value"]) for f in p.body()["filterGroups"][0]["filters"]]

    p = KeysetSearchPaginator("hs_lastmodifieddate", 100, 900, limit=3, object_type="calls")
    p.update_state(Response(), [rec(1, 100), rec(2, 200), rec(3, 200)])
    assert filters(p) == [("hs_lastmodifieddate", "GTE", "200"), ("hs_lastmodifieddate", "LTE", "900")]
    p.update_state(Response(), [rec(3, 200), rec(2, 200), rec(4, 200)])  # a full page of one instant
    assert filters(p) == [("hs_lastmodifieddate", "EQ", "200"), ("hs_object_id", "GT", "0")]
    assert p.body()["sorts"] == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
    p.update_state(Response(), [rec(2, 200), rec(3, 200), rec(4, 200)])
    assert filters(p)[1] == ("hs_object_id", "GT", "4")
    p.update_state(Response(), [rec(7, 200)])  # the instant is read: go on after it
    assert filters(p) == [("hs_lastmodifieddate", "GT", "200"), ("hs_lastmodifieddate", "LTE", "900")]
    assert p.has_next_page
    p.update_state(Response(), [rec(8, 300)])
    assert not p.has_next_page and p.pages == 5

    stuck = KeysetSearchPaginator("hs_lastmodifieddate", 100, 900, limit=2, object_type="calls")
    with pytest.raises(SourceError, match=r"calls search served a full page without one readable modified date .*POST /crm/v3/objects/calls/search"):
        stuck.update_state(Response(), [rec(1, None), {"id": "2"}])

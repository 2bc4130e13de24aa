"""CRM marts built by real dbt from a sandbox load (with an edit and archives), checked against the generator."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from pipelines.common.runner import run_source
from pipelines.hubspot import hubspot_source
from sandbox.app import SandboxConfig
from sandbox.server import SandboxServer
from tests.conftest import TEST_LIFE, Warehouse, run_dbt

TOUCH_TYPES = {"calls": "call", "emails": "email", "meetings": "meeting"}
FADING_AFTER_DAYS = 90  # the model's default for var('fading_after_days')


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    """One flow for the module: load, edit a contact, archive a touched contact and a meeting, load, dbt build."""
    tmp = tmp_path_factory.mktemp("crm")
    with pytest.MonkeyPatch.context() as mp, SandboxServer(SandboxConfig(life=TEST_LIFE)) as server:
        mp.setenv("WAREHOUSE_PATH", str(tmp / "warehouse.duckdb"))
        mp.setenv("PIPELINES_DIR", str(tmp / "dlt_pipelines"))
        mp.setenv("PIPELINE_DESTINATION", "duckdb")
        for var in ("FORCE_FULL_REFRESH", "HUBSPOT_FULL_REFRESH"):
            mp.delenv(var, raising=False)
        for name, value in server.pipeline_env().items():
            if name.startswith("SOURCES__HUBSPOT__"):
                mp.setenv(name, value)
        store = server.sandbox.hubspot
        run_source("hubspot", hubspot_source)

        touched = Counter(c for e in store.portal.engagements(archived=False) for c in e.contact_ids)
        live = store.portal.records("contacts", archived=False)
        edited = next(c for c in live if touched[c.id])
        archived = next(c for c in live if touched[c.id] >= 3 and c.id != edited.id)
        meeting = store.portal.records("meetings", archived=False)[3]
        store.edit("contacts", edited.id, {"jobtitle": "Lighthouse Keeper"})
        store.archive("contacts", archived.id)
        store.archive("meetings", meeting.id)
        run_source("hubspot", hubspot_source)
        run_dbt("build", "--select", "source:hubspot+", "dim_date", "--indirect-selection", "cautious")
        yield {"store": store, "wh": Warehouse(tmp / "warehouse.duckdb"), "edited": edited.id,
               "archived_contact": archived.id, "archived_meeting": meeting.id}


def oracle(store) -> dict[str, dict]:
    """Per live contact: touch dates by type up to the as-of date, computed straight from the sandbox state."""
    live_contacts = {c.id for c in store.portal.records("contacts", archived=False)}
    engagements = store.portal.engagements(archived=False)
    as_of = max(date.fromisoformat(e.properties["hs_timestamp"][:10]) for e in engagements)
    touches: dict[str, list[tuple[date, str, str]]] = {c: [] for c in live_contacts}
    for e in engagements:
        if e.object_type not in TOUCH_TYPES:
            continue
        day = date.fromisoformat(e.properties["hs_timestamp"][:10])
        for c in e.contact_ids:
            if c in live_contacts and day <= as_of:
                touches[c].append((day, e.properties["hs_timestamp"], TOUCH_TYPES[e.object_type]))
    out = {}
    for c, ts in touches.items():
        last = max((t[0] for t in ts), default=None)
        channels = Counter(t[2] for t in ts)
        latest = {ch: max(t[1] for t in ts if t[2] == ch) for ch in channels}
        preferred = min(channels, key=lambda ch: (-channels[ch], _desc(latest[ch]), ch)) if channels else None
        out[c] = {"last": last, "days": (as_of - last).days if last else None,
                  "n30": sum(d > as_of - timedelta(days=30) for d, *_ in ts),
                  "n90": sum(d > as_of - timedelta(days=90) for d, *_ in ts),
                  "n365": sum(d > as_of - timedelta(days=365) for d, *_ in ts),
                  "preferred": preferred,
                  "fading": last is not None and (as_of - last).days >= FADING_AFTER_DAYS}
    return out


def _desc(iso: str) -> tuple:
    return tuple(-ord(ch) for ch in iso)


def test_dimensions_hold_live_records_with_edits_applied(crm):
    store, wh = crm["store"], crm["wh"]
    assert wh.count("marts.dim_contacts") == len(store.portal.records("contacts", archived=False))
    assert wh.count("marts.dim_companies") == len(store.portal.records("companies", archived=False))
    assert wh.query("select job_title from marts.dim_contacts where contact_id = ?", [crm["edited"]]) == [("Lighthouse Keeper",)]
    assert wh.scalar("select count(*) from staging.stg_hubspot__contacts where contact_id = ?", [crm["edited"]]) == 1


def test_archived_records_leave_the_marts(crm):
    wh, contact, meeting = crm["wh"], crm["archived_contact"], crm["archived_meeting"]
    for table in ("dim_contacts", "engagement_contacts", "contact_touchpoints"):
        assert wh.scalar(f"select count(*) from marts.{table} where contact_id = ?", [contact]) == 0, table
    assert wh.scalar("select count(*) from marts.fct_engagements where engagement_id = ?", [meeting]) == 0
    assert wh.scalar("select count(*) from marts.engagement_contacts where engagement_id = ?", [meeting]) == 0


def test_engagement_fact_and_bridge_match_the_generator(crm):
    store, wh = crm["store"], crm["wh"]
    live = store.portal.engagements(archived=False)
    live_contacts = {c.id for c in store.portal.records("contacts", archived=False)}
    got = dict(wh.query("select engagement_type, count(*) from marts.fct_engagements group by 1"))
    assert got == {t[:-1]: n for t, n in Counter(e.object_type for e in live).items()}
    assert wh.count("marts.engagement_contacts") == sum(len(set(e.contact_ids) & live_contacts) for e in live)
    calls = {e.id: int(e.properties["hs_call_duration"]) / 1000 for e in live if e.object_type == "calls"}
    durations = dict(wh.query("select engagement_id, duration_seconds from marts.fct_engagements where engagement_type = 'call'"))
    assert durations == pytest.approx(calls)
    assert wh.scalar("select count(*) from marts.fct_engagements where engagement_type = 'meeting' "
                     "and (duration_seconds is null or direction is not null)") == 0


def test_contact_touchpoints_match_the_generator(crm):
    store, wh = crm["store"], crm["wh"]
    expected = oracle(store)
    rows = wh.query("select contact_id, cast(last_touch_at as date), days_since_last_touch, touches_30d, touches_90d, "
                    "touches_365d, preferred_channel, is_fading from marts.contact_touchpoints")
    got = {r[0]: {"last": r[1], "days": r[2], "n30": r[3], "n90": r[4], "n365": r[5], "preferred": r[6], "fading": r[7]}
           for r in rows}
    assert got == expected
    # the generator's faded relationships (touched, then dropped well over 90 days before the end) are flagged
    faded = {c for c in store.portal.fading_contact_ids if c in expected and expected[c]["last"]}
    assert faded and all(got[c]["fading"] for c in faded)

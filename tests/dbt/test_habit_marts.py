"""Habit marts built by real dbt from a sandbox load, checked against the generator's own ground truth."""

from __future__ import annotations

from datetime import date, timedelta

from pipelines.common.runner import run_source
from pipelines.notion import notion_source
from tests.conftest import run_dbt

# only Notion is loaded here: build what it feeds, not the other sources' models
NOTION_ONLY = ("--select", "source:notion+ dim_date habit_categories", "--indirect-selection", "cautious")


def _period_start(d: date, frequency: str) -> date:
    if frequency == "weekly":
        return d - timedelta(days=d.weekday())
    if frequency == "monthly":
        return d.replace(day=1)
    return d


def _periods_between(first: date, last: date, frequency: str) -> int:
    n, p = 0, _period_start(first, frequency)
    while p <= last:
        n += 1
        p = (p + timedelta(days=7)) if frequency == "weekly" else (
            (p + timedelta(days=32)).replace(day=1) if frequency == "monthly" else p + timedelta(days=1))
    return n


def oracle(store) -> dict[str, dict]:
    """Per habit (current name): completed and tracked periods, computed straight from the sandbox state."""
    live = [p for p in store.ws.pages.values() if not p.in_trash]
    as_of = max(date.fromisoformat(p.values[store.ws.data_sources[p.data_source_id].prop_by_name("Date").id])
                for p in live)
    out = {}
    for ds in store.ws.data_sources.values():
        date_pid = ds.prop_by_name("Date").id
        for spec in (s for s in ds.properties.values() if s.type == "checkbox"):
            done = {_period_start(date.fromisoformat(p.values[date_pid]), ds.frequency)
                    for p in live if p.data_source_id == ds.id and p.values.get(spec.id)}
            if done:
                out[spec.name] = {"completed": len(done),
                                  "tracked": _periods_between(min(done), as_of, ds.frequency)}
    return out


def marts(warehouse) -> dict[str, dict]:
    rows = warehouse.query("select habit_name, completed_periods, tracked_periods, habit_id from marts.habit_completion")
    return {name: {"completed": c, "tracked": t, "habit_id": hid} for name, c, t, hid in rows}


def test_habit_marts_match_the_generator_through_trash_rename_and_edits(notion_env, warehouse):
    store = notion_env.sandbox.notion
    run_source("notion", notion_source)
    run_dbt("build", *NOTION_ONLY)

    got = marts(warehouse)
    expected = oracle(store)
    assert {k: {"completed": v["completed"], "tracked": v["tracked"]} for k, v in got.items()} == expected
    # one row per habit per period
    assert warehouse.scalar("select count(*) from marts.fct_habit_logs") == sum(v["tracked"] for v in expected.values())
    assert warehouse.scalar(
        "select count(*) from (select habit_id, period_start_date from marts.fct_habit_logs group by 1, 2 having count(*) > 1)"
    ) == 0

    # the person trashes a page on which Meditate was ticked, renames Meditate, and edits a page afterwards
    daily = next(ds for ds in store.ws.data_sources.values() if ds.frequency == "daily")
    meditate = daily.prop_by_name("Meditate").id
    trashed = next(p for p in store.ws.pages.values()
                   if p.data_source_id == daily.id and not p.in_trash and p.values.get(meditate))
    store.trash_page(trashed.id)
    store.rename_property(daily.id, "Meditate", "Mindfulness")
    edited = next(p for p in store.ws.pages.values() if p.data_source_id == daily.id and not p.in_trash)
    store.edit_page(edited.id, {"Mindfulness": True})

    run_source("notion", notion_source)
    run_dbt("build", *NOTION_ONLY)

    after = marts(warehouse)
    assert "Meditate" not in after
    assert after["Mindfulness"]["habit_id"] == got["Meditate"]["habit_id"], "a rename must keep the habit id"
    assert {k: {"completed": v["completed"], "tracked": v["tracked"]} for k, v in after.items()} == oracle(store)
    # old pages still carry the old column name in raw, yet stay in the renamed habit's history
    names = {r[0] for r in warehouse.query(
        "select distinct habit_name_on_page from intermediate.int_habit_checks_unpivoted where property_id = ?",
        [meditate])}
    assert names == {"Meditate", "Mindfulness"}
    assert warehouse.scalar("select count(*) from marts.fct_habit_logs where page_id = ?", [trashed.id]) == 0
    assert warehouse.scalar("select count(*) from staging.stg_notion__habit_pages where page_id = ?", [trashed.id]) == 0

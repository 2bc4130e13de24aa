"""Notion page flattening against contract fixtures written from public docs and SDK code (tests/fixtures/notion)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.notion.client import HabitDataSource
from pipelines.notion.pages import UnreadablePage, flatten_page

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notion"
DS = HabitDataSource("daily", "d9824bdc-8445-4327-be8b-5b47500af6ce", "c174b72c-d782-432f-8dc0-b647e1c96df6",
                     "Habit Tracker", date_property_id="%3FbCd")


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def values(row: dict) -> dict[str, tuple]:
    """property name -> (value_text, date_end, date_time_zone)."""
    return {p["property_name"]: (p["value_text"], p.get("date_end"), p.get("date_time_zone")) for p in row["properties"]}


def test_every_fixture_is_described_in_the_readme():
    readme = (FIXTURES / "README.md").read_text()
    names = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert names and all(f"`{name}`" in readme for name in names)


def test_habit_row():
    row = flatten_page(fixture("page_habit_row"), DS)
    assert {k: row[k] for k in ("page_id", "title", "habit_date", "created_time", "last_edited_time", "is_deleted")} == {
        "page_id": "59833787-2cf9-4fdf-8782-e53db20768a5", "title": "Wed 1 May", "habit_date": "2024-05-01",
        "created_time": "2024-05-01T06:00:00.000Z", "last_edited_time": "2024-05-01T21:14:00.000Z", "is_deleted": False}
    assert values(row) == {
        "Name": ("Wed 1 May", None, None), "Date": ("2024-05-01", None, None), "Meditate": ("true", None, None),
        "Exercise": ("false", None, None), "Mood": ("Good", None, None), "Tags": ("travel", None, None),
        "Sleep hours": ("7.5", None, None), "Notes": ("felt good", None, None), "Habits done": ("1", None, None)}
    assert {p["property_id"] for p in row["properties"]} >= {"title", "%3FbCd", "Ab%3Cd"}


def test_empty_values_are_null_and_checkbox_false():
    row = flatten_page(fixture("page_empty_values"), DS)
    assert row["title"] is None and row["habit_date"] is None
    assert values(row) == {"Name": (None, None, None), "Date": (None, None, None), "Meditate": ("false", None, None),
                           "Mood": (None, None, None), "Tags": (None, None, None), "Sleep hours": (None, None, None),
                           "Notes": (None, None, None)}


def test_rich_text_without_plain_text_falls_back_to_text_content():
    row = flatten_page(fixture("page_rich_text_without_plain_text"), DS)
    assert row["title"] == "Fri 3 May"
    assert values(row)["Notes"][0] == "slept badly E=mc^2 2024-05-04"


def test_date_range_keeps_end_and_time_zone():
    row = flatten_page(fixture("page_date_range_with_time_zone"), DS)
    assert row["habit_date"] == "2024-05-04"
    assert values(row)["Date"] == ("2024-05-04T07:30:00.000+02:00", "2024-05-06T18:00:00.000+02:00", "Europe/Berlin")
    assert values(row)["Away"] == ("2024-05-04", "2024-05-06", None)


def test_unsupported_formula_and_rollup_are_null():
    row = flatten_page(fixture("page_computed_values"), DS)
    assert values(row) == {
        "Name": ("Sun 5 May", None, None), "Date": ("2024-05-05", None, None),
        "Streak": (None, None, None), "Label": ("on track", None, None), "Perfect day": ("true", None, None),
        "Week total": (None, None, None), "Month total": (None, None, None), "Runs": ("3", None, None),
        "Last run": ("2024-05-04", None, None), "Distances": ("5.2;10", None, None)}


def test_trashed_page_is_deleted():
    assert flatten_page(fixture("page_in_trash"), DS)["is_deleted"] is True


@pytest.mark.parametrize("field,value", [("last_edited_time", None), ("last_edited_time", "yesterday"),
                                         ("created_time", None), ("id", None)])
def test_pages_the_loader_cannot_use_raise_unreadable_page(field, value):
    page = {**fixture("page_habit_row"), field: value}
    with pytest.raises(UnreadablePage, match=field if field != "id" else "no id"):
        flatten_page(page, DS)

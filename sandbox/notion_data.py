"""Generates the synthetic person's Notion habit tracker: daily, weekly and monthly habit databases."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

from sandbox.life import SyntheticLife, stable_uuid

_ID_ALPHABET = string.ascii_letters + string.digits + ":;<=>?@[]{}"


@dataclass
class PropertySpec:
    """One column of a data source. `id` is stable; `name` is what the user sees and may be renamed."""

    id: str
    name: str
    type: str
    options: list[str] = field(default_factory=list)


@dataclass
class HabitSpec:
    """How likely the person is to do a habit, and when it appeared or was renamed."""

    name: str
    weekday: float
    weekend: float
    added_at: float = 0.0
    renamed_to: str | None = None
    renamed_at: float = 0.5
    sick_factor: float = 0.5


@dataclass
class DataSource:
    id: str
    database_id: str
    title: str
    frequency: str
    properties: dict[str, PropertySpec]
    created_time: datetime
    renames: list[tuple[datetime, str, str, str]] = field(default_factory=list)

    def prop_by_name(self, name: str) -> PropertySpec:
        for p in self.properties.values():
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass
class Page:
    id: str
    data_source_id: str
    database_id: str
    created_time: datetime
    last_edited_time: datetime
    values: dict[str, object]
    in_trash: bool = False


DAILY_HABITS = [
    HabitSpec("Meditate", 0.8, 0.65),
    HabitSpec("Exercise", 0.55, 0.7, sick_factor=0.0),
    HabitSpec("Read", 0.7, 0.8),
    HabitSpec("Drink water", 0.85, 0.75, renamed_to="Hydrate", renamed_at=0.5),
    HabitSpec("Journal", 0.5, 0.6, added_at=0.3),
    HabitSpec("No alcohol", 0.85, 0.45),
]
WEEKLY_HABITS = [
    HabitSpec("Long run", 0.7, 0.7, sick_factor=0.0),
    HabitSpec("Call family", 0.8, 0.8),
    HabitSpec("Meal prep", 0.6, 0.6),
    HabitSpec("Deep clean", 0.5, 0.5, added_at=0.5),
]
MONTHLY_HABITS = [
    HabitSpec("Budget review", 0.85, 0.85),
    HabitSpec("Visit a friend", 0.6, 0.6),
    HabitSpec("Digital declutter", 0.5, 0.5),
]
MOODS = ["Great", "Good", "Okay", "Low"]
TAGS = ["work-from-home", "travel", "social", "sick", "family"]


@dataclass
class NotionWorkspace:
    """Everything the Notion replica serves: database -> data source -> pages."""

    data_sources: dict[str, DataSource]
    pages: dict[str, Page]

    @property
    def database_ids(self) -> dict[str, str]:
        """frequency -> database id (what a user puts in config)."""
        return {ds.frequency: ds.database_id for ds in self.data_sources.values()}


def _prop_id(rng: random.Random, taken: set[str]) -> str:
    while True:
        raw = "".join(rng.choice(_ID_ALPHABET) for _ in range(4))
        pid = quote(raw, safe="")
        if pid not in taken:
            taken.add(pid)
            return pid


def _minute(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


class _Builder:
    def __init__(self, life: SyntheticLife, now: datetime):
        self.life = life
        # edits never lie in the future, and never past the life's last day: regenerating the same
        # life later the same day must give identical pages (so a second demo run loads nothing)
        day_after = datetime.combine(life.config.end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        self.now = _minute(min(now, day_after)) - timedelta(minutes=1)
        self.rng = life.rng("notion-habits")
        self.data_sources: dict[str, DataSource] = {}
        self.pages: dict[str, Page] = {}

    def cap(self, ts: datetime) -> datetime:
        return _minute(min(ts, self.now))

    def data_source(self, frequency: str, title: str, habits: list[HabitSpec], extra: list[PropertySpec]) -> DataSource:
        taken: set[str] = set()
        props = [PropertySpec("title", "Name", "title"), PropertySpec(_prop_id(self.rng, taken), "Date", "date")]
        for h in habits:
            props.append(PropertySpec(_prop_id(self.rng, taken), h.renamed_to or h.name, "checkbox"))
        for p in extra:
            p.id = _prop_id(self.rng, taken)
            props.append(p)
        seed = self.life.config.seed
        ds = DataSource(
            id=stable_uuid("notion-ds", seed, frequency),
            database_id=stable_uuid("notion-db", seed, frequency),
            title=title,
            frequency=frequency,
            properties={p.id: p for p in props},
            created_time=self.life.at(self.life.config.start - timedelta(days=3), 9),
        )
        for h in habits:
            if h.renamed_to:
                when = self.life.at(self.life.day(int(h.renamed_at * (self.life.config.days - 1))), 12)
                ds.renames.append((when, ds.prop_by_name(h.renamed_to).id, h.name, h.renamed_to))
        self.data_sources[ds.id] = ds
        return ds

    def page(self, ds: DataSource, d: date, title: str, created: datetime, edited: datetime, values: dict) -> Page:
        n = sum(1 for p in self.pages.values() if p.data_source_id == ds.id)
        page = Page(
            id=stable_uuid("notion-page", self.life.config.seed, ds.frequency, n),
            data_source_id=ds.id,
            database_id=ds.database_id,
            created_time=self.cap(created),
            last_edited_time=self.cap(max(created, edited)),
            values={ds.prop_by_name("Name").id: title, ds.prop_by_name("Date").id: d.isoformat(), **values},
        )
        self.pages[page.id] = page
        return page

    def checks(self, ds: DataSource, habits: list[HabitSpec], d: date, prev: dict[str, bool]) -> dict[str, bool]:
        out = {}
        for h in habits:
            pid = ds.prop_by_name(h.renamed_to or h.name).id
            if self.life.fraction(d) < h.added_at:
                out[pid] = False  # a checkbox added later reads false on older pages, as in Notion
                continue
            p = h.weekend if self.life.is_weekend(d) else h.weekday
            p += 0.12 if prev.get(pid) else -0.12  # momentum: streaks and lapses
            if self.life.is_sick(d):
                p *= h.sick_factor
            out[pid] = self.rng.random() < max(0.0, min(0.97, p))
        return out


def generate_workspace(life: SyntheticLife, now: datetime | None = None) -> NotionWorkspace:
    """Build the three habit databases for `life`. Deterministic for a given seed, start and days."""
    b = _Builder(life, now or datetime.now(UTC))
    rng = b.rng
    daily = b.data_source(
        "daily", "Daily Habits", DAILY_HABITS,
        [PropertySpec("", "Mood", "select", MOODS), PropertySpec("", "Tags", "multi_select", TAGS),
         PropertySpec("", "Sleep hours", "number"), PropertySpec("", "Notes", "rich_text")],
    )
    mood, tags, sleep, notes = (daily.prop_by_name(n).id for n in ("Mood", "Tags", "Sleep hours", "Notes"))
    prev: dict[str, bool] = {}
    for d in life.dates():
        if life.is_on_holiday(d) or rng.random() < 0.03:
            continue  # not logged at all: a missing day is no page, not an unchecked one
        checks = b.checks(daily, DAILY_HABITS, d, prev)
        prev = checks
        day_tags = [t for t, on in (("sick", life.is_sick(d)), ("social", life.is_weekend(d) and rng.random() < 0.5),
                                    ("work-from-home", not life.is_weekend(d) and rng.random() < 0.3)) if on]
        edited = life.at(d, 20 + rng.randint(0, 3), rng.randint(0, 59))
        if rng.random() < 0.04:
            edited += timedelta(days=rng.randint(1, 5), minutes=rng.randint(0, 300))  # filled in days later
        values = {
            **checks,
            mood: "Low" if life.is_sick(d) else rng.choice(MOODS[:3]),
            tags: day_tags,
            sleep: round(rng.gauss(7.6 if life.is_weekend(d) else 7.0, 0.6), 1),
            notes: "felt rough" if life.is_sick(d) else ("good day" if rng.random() < 0.1 else ""),
        }
        b.page(daily, d, d.strftime("%a %-d %b"), life.at(d, 6, rng.randint(0, 59)), edited, values)

    weekly = b.data_source(
        "weekly", "Weekly Habits", WEEKLY_HABITS,
        [PropertySpec("", "Focus", "select", ["Health", "Work", "Family"]),
         PropertySpec("", "Tags", "multi_select", TAGS), PropertySpec("", "Rating", "number")],
    )
    focus, wtags, rating = (weekly.prop_by_name(n).id for n in ("Focus", "Tags", "Rating"))
    prev = {}
    monday = life.config.start - timedelta(days=life.config.start.weekday())
    while monday <= life.config.end:
        checks = b.checks(weekly, WEEKLY_HABITS, max(monday, life.config.start), prev)
        prev = checks
        iso = monday.isocalendar()
        values = {**checks, focus: rng.choice(["Health", "Work", "Family"]), wtags: [],
                  rating: rng.randint(4, 10)}
        b.page(weekly, monday, f"Week {iso.week}, {iso.year}", life.at(monday, 7),
               life.at(monday + timedelta(days=6), 19, rng.randint(0, 59)), values)
        monday += timedelta(days=7)

    monthly = b.data_source(
        "monthly", "Monthly Habits", MONTHLY_HABITS,
        [PropertySpec("", "Theme", "select", ["Rest", "Growth", "People"]),
         PropertySpec("", "Tags", "multi_select", TAGS), PropertySpec("", "Rating", "number")],
    )
    theme, mtags, mrating = (monthly.prop_by_name(n).id for n in ("Theme", "Tags", "Rating"))
    prev = {}
    first = life.config.start.replace(day=1)
    while first <= life.config.end:
        checks = b.checks(monthly, MONTHLY_HABITS, max(first, life.config.start), prev)
        prev = checks
        nxt = (first + timedelta(days=32)).replace(day=1)
        values = {**checks, theme: rng.choice(["Rest", "Growth", "People"]), mtags: [], mrating: rng.randint(4, 10)}
        b.page(monthly, first, first.strftime("%B %Y"), life.at(first, 8),
               life.at(nxt - timedelta(days=1), 18, rng.randint(0, 59)), values)
        first = nxt

    daily_pages = [p for p in b.pages.values() if p.data_source_id == daily.id]
    # the same day logged twice: Notion allows it, the marts must not double count
    dup_of = daily_pages[len(daily_pages) // 3]
    dup = b.page(daily, date.fromisoformat(dup_of.values[daily.prop_by_name("Date").id]),
                 "duplicate", dup_of.created_time, dup_of.last_edited_time + timedelta(minutes=5),
                 {k: v for k, v in dup_of.values.items() if daily.properties[k].type != "title"})
    dup.values[daily.prop_by_name("Name").id] = "duplicate"
    # a few pages the person threw away
    for p in rng.sample(daily_pages, 3):
        p.in_trash = True
        p.last_edited_time = b.cap(p.last_edited_time + timedelta(days=2))
    return NotionWorkspace(b.data_sources, b.pages)

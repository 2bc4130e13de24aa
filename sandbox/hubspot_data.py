"""Generates the synthetic person's HubSpot CRM: companies, contacts and a year of engagements with them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sandbox.life import SyntheticLife

ENGAGEMENT_TYPES = ("calls", "emails", "meetings", "notes", "tasks")
OBJECT_TYPES = ("contacts", "companies", *ENGAGEMENT_TYPES)
# HubSpot's numeric object type ids, accepted wherever a type name is
TYPE_IDS = {"0-1": "contacts", "0-2": "companies", "0-48": "calls", "0-49": "emails", "0-47": "meetings",
            "0-46": "notes", "0-27": "tasks"}
OWNER_ID = "75320001"

FIRST_NAMES = ["Ana", "Ben", "Chloe", "Dev", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kai", "Lena",
               "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wen", "Yusuf",
               "Zoe", "Aiko", "Bruno", "Carla", "Diego", "Emma"]
LAST_NAMES = ["Silva", "Novak", "Okafor", "Berg", "Kowalski", "Moreau", "Tanaka", "Haddad", "Larsen", "Costa",
              "Nguyen", "Fischer", "Rossi", "Byrne", "Yilmaz", "Duarte", "Ivanova", "Mensah", "Kaur", "Lopez"]
COMPANY_WORDS = ["Nimbus", "Fjord", "Ember", "Quartz", "Juniper", "Atlas", "Copper", "Harbor", "Lumen", "Orchid",
                 "Pioneer", "Sable", "Tidal", "Verdant", "Willow", "Zephyr", "Basalt", "Cobalt", "Delta", "Onyx"]
COMPANY_SUFFIXES = ["Labs", "Works", "Analytics", "Health", "Logistics", "Studio", "Capital", "Foods", "Energy", "Systems"]
INDUSTRIES = ["COMPUTER_SOFTWARE", "HOSPITAL_HEALTH_CARE", "FINANCIAL_SERVICES", "LOGISTICS_AND_SUPPLY_CHAIN",
              "RENEWABLES_ENVIRONMENT", "FOOD_BEVERAGES", "DESIGN", "RESEARCH"]
CITIES = [("Lisbon", "Portugal"), ("Berlin", "Germany"), ("London", "United Kingdom"), ("Austin", "United States"),
          ("Toronto", "Canada"), ("Nairobi", "Kenya"), ("Singapore", "Singapore"), ("Madrid", "Spain")]
JOB_TITLES = ["Engineer", "Product Manager", "Founder", "Designer", "Data Scientist", "Head of Sales", "CTO",
              "Researcher", "Consultant", "Recruiter"]
LIFECYCLE = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"]
# how often the person talks to someone: touches per week, and the share of contacts in each circle
CIRCLES = [("close", 0.8, 0.1), ("regular", 0.25, 0.3), ("occasional", 0.05, 0.6)]


@dataclass
class CrmRecord:
    """One HubSpot object. `properties` holds the user-visible values (strings or None); system dates are fields."""

    object_type: str
    id: str
    properties: dict[str, str | None]
    created_at: datetime
    updated_at: datetime
    archived: bool = False
    archived_at: datetime | None = None
    contact_ids: list[str] = field(default_factory=list)
    company_ids: list[str] = field(default_factory=list)
    # system properties the API leaves out of this record's `properties` (real payloads do: a record with no
    # `lastmodifieddate` but a top-level `updatedAt`); search still filters and sorts on the underlying date
    omitted: set[str] = field(default_factory=set)


@dataclass
class HubSpotPortal:
    """Everything the HubSpot replica serves, plus the scenario facts tests check against."""

    objects: dict[str, dict[str, CrmRecord]]
    bulk_stamps: dict[str, datetime] = field(default_factory=dict)  # object type -> the one shared timestamp
    fading_contact_ids: set[str] = field(default_factory=set)

    def records(self, object_type: str, archived: bool | None = None) -> list[CrmRecord]:
        recs = self.objects[object_type].values()
        return [r for r in recs if archived is None or r.archived == archived]

    def engagements(self, archived: bool | None = None) -> list[CrmRecord]:
        return [r for t in ENGAGEMENT_TYPES for r in self.records(t, archived)]


def hs_iso(ts: datetime) -> str:
    """HubSpot's timestamp format: UTC with milliseconds and a Z."""
    ts = ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _ms(ts: datetime) -> datetime:
    return ts.replace(microsecond=(ts.microsecond // 1000) * 1000)


class _Builder:
    def __init__(self, life: SyntheticLife, now: datetime):
        self.life = life
        self.now = _ms(now) - timedelta(minutes=1)
        self.rng: random.Random = life.rng("crm")
        self.objects: dict[str, dict[str, CrmRecord]] = {t: {} for t in OBJECT_TYPES}
        self.next_id = {"contacts": 101, "companies": 5001, "engagements": 20001}

    def cap(self, ts: datetime) -> datetime:
        return _ms(min(ts, self.now))

    def at(self, d: date, hour: int, minute: int | None = None) -> datetime:
        minute = self.rng.randint(0, 59) if minute is None else minute
        return self.life.at(d, hour, minute) + timedelta(seconds=self.rng.randint(0, 59), milliseconds=self.rng.randint(0, 999))

    def add(self, object_type: str, props: dict, created: datetime, updated: datetime | None = None,
            contact_ids: list[str] | None = None, company_ids: list[str] | None = None) -> CrmRecord:
        key = object_type if object_type in ("contacts", "companies") else "engagements"
        rid = str(self.next_id[key])
        self.next_id[key] += 1
        rec = CrmRecord(object_type, rid, props, self.cap(created), self.cap(max(created, updated or created)),
                        contact_ids=contact_ids or [], company_ids=company_ids or [])
        self.objects[object_type][rid] = rec
        return rec

    def workday_after(self, d: date, days: int) -> date:
        while days > 0:
            d += timedelta(days=1)
            if not self.life.is_weekend(d):
                days -= 1
        return d


def _companies(b: _Builder) -> list[CrmRecord]:
    rng, life = b.rng, b.life
    names: set[str] = set()
    out = []
    while len(out) < 50:
        name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)}"
        if name in names:
            continue
        names.add(name)
        city, country = rng.choice(CITIES)
        created = b.at(life.config.start - timedelta(days=rng.randint(30, 900)), 10)
        if rng.random() < 0.15:  # met during the year
            created = b.at(life.day(rng.randint(0, max(0, life.config.days - 60))), 10)
        out.append(b.add("companies", {
            "name": name, "domain": name.lower().replace(" ", "") + ".example",
            "industry": rng.choice(INDUSTRIES), "city": city, "country": country,
            "numberofemployees": str(rng.choice([4, 12, 35, 80, 250, 1200])),
        }, created))
    return out


def _contacts(b: _Builder, companies: list[CrmRecord]) -> list[tuple[CrmRecord, float, float | None, str]]:
    """Contacts with their touch rate, the life fraction at which the relationship fades, and a favourite channel."""
    rng, life = b.rng, b.life
    out = []
    for i in range(300):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company = rng.choice(companies) if rng.random() < 0.85 else None
        created = b.at(life.config.start - timedelta(days=rng.randint(1, 700)), 11)
        if rng.random() < 0.3:
            created = b.at(life.day(rng.randint(0, max(0, life.config.days - 30))), 11)
        props = {
            "firstname": first, "lastname": last,
            "email": f"{first.lower()}.{last.lower()}{i}@{company.properties['domain'] if company else 'mail.example'}",
            "phone": f"+1555{rng.randint(1000000, 9999999)}" if rng.random() < 0.6 else None,
            "company": company.properties["name"] if company else None,
            "associatedcompanyid": company.id if company else None,
            "jobtitle": rng.choice(JOB_TITLES), "lifecyclestage": rng.choice(LIFECYCLE[:4]),
            "hs_email_optout": "true" if rng.random() < 0.05 else "false",
        }
        contact = b.add("contacts", props, created, company_ids=[company.id] if company else [])
        circle = rng.choices(CIRCLES, weights=[c[2] for c in CIRCLES])[0]
        fade_at = rng.uniform(0.15, 0.7) if circle[0] != "occasional" and rng.random() < 0.3 else None
        out.append((contact, circle[1], fade_at, rng.choice(["calls", "emails", "meetings"])))
    return out


def _engagement_props(b: _Builder, kind: str, name: str, when: datetime) -> dict:
    rng = b.rng
    base = {"hs_timestamp": hs_iso(when), "hubspot_owner_id": OWNER_ID}
    if kind == "calls":
        return {**base, "hs_call_title": f"Call with {name}", "hs_call_body": rng.choice(["Caught up", "Intro", "Follow-up"]),
                "hs_call_direction": rng.choice(["OUTBOUND", "OUTBOUND", "INBOUND"]),
                "hs_call_duration": str(rng.randint(2, 45) * 60_000 + rng.randint(0, 59_999)),
                "hs_call_status": "COMPLETED" if rng.random() < 0.9 else "NO_ANSWER"}
    if kind == "emails":
        return {**base, "hs_email_subject": rng.choice(["Quick question", "Re: next steps", "Great to meet", "Intro"]),
                "hs_email_text": f"Hi {name}, ...", "hs_email_direction": rng.choice(["EMAIL", "EMAIL", "INCOMING_EMAIL"]),
                "hs_email_status": "SENT"}
    if kind == "meetings":
        end = when + timedelta(minutes=rng.choice([30, 45, 60, 90]))
        return {**base, "hs_meeting_title": f"Meeting with {name}", "hs_meeting_body": "Agenda: catch up",
                "hs_meeting_start_time": hs_iso(when), "hs_meeting_end_time": hs_iso(end),
                "hs_meeting_outcome": "COMPLETED" if rng.random() < 0.92 else "NO_SHOW"}
    if kind == "notes":
        return {**base, "hs_note_body": f"Notes on {name}: " + rng.choice(["wants a demo", "moving jobs", "new baby", "hiring"])}
    return {**base, "hs_task_subject": f"Follow up with {name}", "hs_task_body": "Send the deck",
            "hs_task_status": "NOT_STARTED", "hs_task_priority": rng.choice(["LOW", "MEDIUM", "HIGH"]),
            "hs_task_type": rng.choice(["CALL", "EMAIL", "TODO"])}


def _engagements(b: _Builder, circles: list[tuple[CrmRecord, float, float | None, str]]) -> set[str]:
    """A year of touches in work-week rhythm; returns the ids of contacts whose relationship faded."""
    rng, life = b.rng, b.life
    fading: set[str] = set()
    for d in life.dates():
        weekend, away = life.is_weekend(d), life.is_on_holiday(d)
        factor = 0.0 if away else (0.08 if weekend else 1.0) * (0.2 if life.is_sick(d) else 1.0)
        for contact, rate, fade_at, favourite in circles:
            if factor == 0.0 or contact.created_at.date() > d:
                continue
            if fade_at is not None and life.fraction(d) > fade_at:
                fading.add(contact.id)
                continue
            if rng.random() >= rate / 5 * factor:
                continue
            kind = favourite if rng.random() < 0.6 else rng.choice(["calls", "emails", "meetings"])
            when = b.at(d, rng.choice([9, 10, 11, 13, 14, 15, 16, 17]))
            if when > b.now:
                continue
            contacts = [contact.id]
            if kind == "meetings" and contact.company_ids and rng.random() < 0.15:
                # a colleague joins only while the person still talks to them (a faded relationship stays faded)
                colleagues = [c.id for c, _, fade, _ in circles if c.company_ids == contact.company_ids
                              and c.id != contact.id and c.created_at.date() <= d
                              and (fade is None or life.fraction(d) <= fade)]
                contacts += rng.sample(colleagues, min(1, len(colleagues)))
            name = contact.properties["firstname"] or ""
            logged = when + timedelta(minutes=rng.randint(1, 90), milliseconds=rng.randint(0, 999))
            b.add(kind, _engagement_props(b, kind, name, when), logged, contact_ids=contacts,
                        company_ids=list(contact.company_ids))
            if kind in ("calls", "meetings") and rng.random() < 0.15:
                b.add("notes", _engagement_props(b, "notes", name, logged), logged + timedelta(minutes=5),
                      contact_ids=contacts, company_ids=list(contact.company_ids))
            if kind in ("calls", "meetings") and rng.random() < 0.12:
                due = b.at(b.workday_after(d, rng.randint(2, 5)), 9, 0)
                if due <= b.now and due.date() <= life.config.end:
                    task = b.add("tasks", _engagement_props(b, "tasks", name, due), logged + timedelta(minutes=2),
                                 contact_ids=[contact.id], company_ids=list(contact.company_ids))
                    if rng.random() < 0.7:  # ticked off on the due day: a later edit of the task
                        task.properties["hs_task_status"] = "COMPLETED"
                        task.updated_at = b.cap(due + timedelta(hours=rng.randint(1, 8)))
    return fading


def generate_portal(life: SyntheticLife, now: datetime | None = None) -> HubSpotPortal:
    """Build the CRM for `life`. Deterministic for a given seed, start and days."""
    b = _Builder(life, now or datetime.now(UTC))
    rng = b.rng
    companies = _companies(b)
    circles = _contacts(b, companies)
    fading = _engagements(b, circles)
    contacts = [c for c, *_ in circles]

    # contacts edited later: a new job title or phone number some time after they were created
    for contact in rng.sample(contacts, 45):
        day = life.day(rng.randint(0, life.config.days - 1))
        when = b.cap(max(b.at(day, 12), contact.created_at + timedelta(hours=1)))
        contact.properties["jobtitle"] = rng.choice(JOB_TITLES)
        contact.updated_at = max(contact.updated_at, when)

    # a bulk import: many records stamped with one and the same modified timestamp
    stamps: dict[str, datetime] = {}
    for object_type, records, share, prop, value in (
        ("contacts", contacts, 0.45, "lifecyclestage", "customer"),
        ("companies", companies, 0.5, "country", None),
    ):
        stamp = b.cap(b.at(life.day(int(life.config.days * 0.75)), 15))
        eligible = [r for r in records if r.updated_at < stamp]
        for rec in rng.sample(eligible, int(len(eligible) * share)):
            if value is not None:
                rec.properties[prop] = value
            rec.updated_at = stamp
        stamps[object_type] = stamp

    # deletions: a few contacts and engagements the person archived late in the year
    late = [life.day(i) for i in range(int(life.config.days * 0.8), life.config.days)]
    engagements = [e for t in ENGAGEMENT_TYPES for e in b.objects[t].values()]
    for rec in rng.sample(contacts, 6) + rng.sample(engagements, min(15, len(engagements))):
        when = b.cap(max(b.at(rng.choice(late), 18), rec.updated_at + timedelta(seconds=1)))
        rec.archived, rec.archived_at, rec.updated_at = True, when, when
    return HubSpotPortal(b.objects, stamps, fading)

"""The Google Health API contract without a network: the fixtures written from real payloads conform to the
discovery document (health.v4.json in google-api-python-client), the validator catches what breaks it, and the
parsers turn each fixture into the rows and units the raw tables promise (malformed points rejected)."""

from __future__ import annotations

import copy
import time
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from pipelines.fitbit.contract import DISCOVERY_PATH, discovery, problems, response_schema
from pipelines.fitbit.data_types import BY_ENTITY, DATA_TYPES
from tests.fixtures.google_health import GOOGLE_HEALTH_FIXTURES, contract_fixture, heart_rate_points_alive

PAGES = sorted(p.name for p in GOOGLE_HEALTH_FIXTURES.glob("*.json")
               if p.name.startswith(("list_", "reconcile_", "empty_")))
PARSER_OF = {"heart_rate": "heart_rate_samples", "steps": "steps_intervals", "sleep": "sleep_sessions",
             "weight": "weight_points", "body_fat": "body_fat_points",
             "daily_resting_heart_rate": "daily_resting_heart_rate", "daily_heart_rate_variability": "daily_hrv",
             "daily_oxygen_saturation": "daily_spo2", "exercise": "exercise_sessions",
             "active_energy_burned": "active_energy_intervals", "basal_energy_burned": "basal_energy_intervals",
             "active_minutes": "active_minutes_intervals"}


def parser_for(fixture: str):
    stem = fixture.removesuffix(".json").split("_", 1)[1]
    return BY_ENTITY[PARSER_OF[stem]]


def rows(fixture: str) -> list[dict]:
    table, rejected = parser_for(fixture).to_arrow(contract_fixture(fixture).get("dataPoints", []))
    assert rejected == [] and isinstance(table, pa.Table)
    return table.to_pylist()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_the_discovery_document_is_the_one_shipped_with_google_api_python_client():
    assert DISCOVERY_PATH.exists() and discovery()["revision"] >= "20261030"
    assert response_schema("users.dataTypes.dataPoints", "list") == "ListDataPointsResponse"
    assert response_schema("users.dataTypes.dataPoints", "reconcile") == "ReconcileDataPointsResponse"


@pytest.mark.parametrize("fixture", PAGES)
def test_every_response_fixture_conforms_to_the_discovery_document(fixture):
    schema = "ReconcileDataPointsResponse" if fixture.startswith("reconcile_") else "ListDataPointsResponse"
    assert problems(contract_fixture(fixture), schema) == []


def test_the_validator_catches_types_refs_required_members_int64_strings_enums_and_the_union():
    page = contract_fixture("list_heart_rate.json")
    broken = copy.deepcopy(page)
    first, second = broken["dataPoints"]
    first["heartRate"]["beatsPerMinute"] = 64  # an int64 as a JSON number
    first["heartRate"]["sampleTime"]["utcOffset"] = "+02:00"  # not a google-duration
    first["heartRate"]["beatPerMinute"] = "64"  # not a member
    del second["heartRate"]["sampleTime"]  # required
    second["dataSource"]["platform"] = "GARMIN"  # not in the enum
    second["steps"] = {"count": "1", "interval": {}}  # two data members
    found = "\n".join(problems(broken, "ListDataPointsResponse"))
    for expected in ("dataPoints[0].heartRate.beatsPerMinute: expected an int64 as a JSON string",
                     "dataPoints[0].heartRate.sampleTime.utcOffset: '+02:00' is not a duration",
                     "dataPoints[0].heartRate.beatPerMinute: not a member of HeartRate",
                     "dataPoints[1].heartRate.sampleTime: required by the contract but missing",
                     "dataPoints[1].dataSource.platform: 'GARMIN' is not one of the documented values",
                     "dataPoints[1].steps.interval.startTime: required by the contract but missing",
                     "dataPoints[1]: a DataPoint holds exactly one data member"):
        assert expected in found
    reconciled = contract_fixture("reconcile_steps.json")
    reconciled["dataPoints"][0]["dataSource"] = {"platform": "FITBIT"}
    assert any("dataSource: not a member of ReconciledDataPoint" in p
               for p in problems(reconciled, "ReconcileDataPointsResponse")), "reconciled points have no dataSource"


def test_local_times_from_the_offset_match_the_civil_times_google_sends():
    """The pipeline derives *_at_local from the instant and its utcOffset; where Google also sends the civil
    time (heart rate, steps, weight), the two agree."""
    for fixture, member, local_column in (("list_heart_rate.json", "heartRate", "sample_at_local"),
                                          ("list_weight.json", "weight", "measured_at_local"),
                                          ("list_steps.json", "steps", "start_at_local"),
                                          ("list_active_energy_burned.json", "activeEnergyBurned", "start_at_local"),
                                          ("list_basal_energy_burned.json", "basalEnergyBurned", "start_at_local"),
                                          ("list_active_minutes.json", "activeMinutes", "start_at_local")):
        for point, row in zip(contract_fixture(fixture)["dataPoints"], rows(fixture), strict=True):
            value = point[member]
            civil = value["sampleTime"]["civilTime"] if "sampleTime" in value else value["interval"]["civilStartTime"]
            clock = civil.get("time", {})
            expected = datetime(civil["date"]["year"], civil["date"]["month"], civil["date"]["day"],
                                clock.get("hours", 0), clock.get("minutes", 0), clock.get("seconds", 0),
                                clock.get("nanos", 0) // 1000)
            assert row[local_column] == expected, fixture


def test_the_parsers_turn_each_fixture_into_raw_rows_with_the_apis_units():
    heart = rows("list_heart_rate.json")
    assert heart[0] == {"window_date": date(2026, 9, 14), "sample_at_utc": utc("2026-09-14T05:17:43Z"),
                        "sample_at_local": datetime(2026, 9, 14, 7, 17, 43), "utc_offset_seconds": 7200, "bpm": 64}
    assert rows("reconcile_heart_rate.json")[0]["bpm"] == 64
    (steps,) = rows("list_steps.json")
    assert steps["steps"] == 38 and steps["end_at_utc"] == utc("2026-09-14T12:41:00Z")
    assert steps["start_utc_offset_seconds"] == -14400 and steps["window_date"] == date(2026, 9, 14)
    (sleep,) = rows("list_sleep.json")
    assert sleep["sleep_id"] == "5193022817460039215" and sleep["sleep_type"] == "STAGES"
    assert (sleep["minutes_asleep"], sleep["minutes_awake"], sleep["minutes_in_sleep_period"]) == (57, 3, 60)
    assert (sleep["awake_minutes"], sleep["light_minutes"], sleep["deep_minutes"], sleep["rem_minutes"]) == \
        (3, 23, 11, 23)
    assert sleep["is_main_sleep"] is True and sleep["window_date"] == date(2026, 9, 13)  # the UTC date of its end
    assert sleep["end_at_local"] == datetime(2026, 9, 13, 18, 30) and sleep["stage_segments"] == 4
    (nap,) = rows("reconcile_sleep.json")
    assert nap["sleep_id"] == "5193022817460039215", "the id from dataPointName on a reconciled point"
    assert (nap["sleep_type"], nap["is_nap"], nap["asleep_minutes"], nap["restless_minutes"]) == \
        ("CLASSIC", True, 45, 5)
    (weight,) = rows("list_weight.json")
    assert weight["weight_grams"] == 74310.0 and weight["weight_id"] == "4409817726355190643"
    assert weight["measured_at_utc"] == utc("2026-09-15T05:31:09.381204Z"), "the fraction kept"
    assert rows("list_body_fat.json")[0]["body_fat_percent"] == 20.6
    assert rows("list_daily_resting_heart_rate.json")[0] == {
        "window_date": date(2026, 9, 14), "metric_date": date(2026, 9, 14), "resting_bpm": 58,
        "calculation_method": "WITH_SLEEP"}
    assert rows("list_daily_heart_rate_variability.json")[0]["average_hrv_ms"] == 38.9
    spo2 = rows("list_daily_oxygen_saturation.json")[0]
    assert (spo2["average_percent"], spo2["lower_bound_percent"], spo2["upper_bound_percent"]) == (96.8, 95.1, 98.6)
    (exercise,) = rows("list_exercise.json")
    assert (exercise["exercise_type"], exercise["calories_kcal"], exercise["distance_millimeters"],
            exercise["steps"], exercise["average_heart_rate_bpm"], exercise["active_duration_seconds"]) == \
        ("WALKING", 212.0, 2216800.0, 2874, 97, 1612.0)
    assert exercise["window_date"] == date(2026, 9, 13), "civil start date: the exercise filter is civil"
    empty, rejected = BY_ENTITY["steps_intervals"].to_arrow(contract_fixture("empty_page_with_token.json")
                                                            .get("dataPoints", []))
    assert empty.num_rows == 0 and rejected == []


def test_energy_and_active_minutes_fixtures_become_raw_rows_in_kcal_and_whole_minutes_per_level():
    """Active energy excludes the basal burn (discovery: ActiveEnergyBurned), so the raw tables keep the two apart
    in kcal as sent; active minutes keep the API's three levels, an absent level null (not zero)."""
    active = rows("list_active_energy_burned.json")
    assert [r["active_kcal"] for r in active] == [3.2166420000000004, 0.0], "kcal as sent, a JSON 0 kept"
    assert active[0]["start_at_utc"] == utc("2026-09-14T12:41:00Z") and active[0]["end_at_utc"] == \
        utc("2026-09-14T12:42:00Z")
    assert active[0]["start_utc_offset_seconds"] == -14400 and active[0]["window_date"] == date(2026, 9, 14)
    (basal,) = rows("list_basal_energy_burned.json")
    assert basal["basal_kcal"] == 68.75 and basal["start_at_local"] == datetime(2026, 9, 14, 8)
    assert basal["end_at_local"] == datetime(2026, 9, 14, 9)
    minutes = [(r["start_at_local"], r["light_minutes"], r["moderate_minutes"], r["vigorous_minutes"])
               for r in rows("list_active_minutes.json")]
    assert minutes == [(datetime(2026, 9, 14, 8), 12, 9, 21), (datetime(2026, 9, 14, 7), 4, None, None)]


@pytest.mark.parametrize(("fixture", "member", "change", "reason"), [
    ("list_active_energy_burned.json", "activeEnergyBurned", lambda v: v.update(kcal=-1.5), "below 0"),
    ("list_active_energy_burned.json", "activeEnergyBurned", lambda v: v.update(kcal="3.2"), "not a number"),
    ("list_active_energy_burned.json", "activeEnergyBurned", lambda v: v.pop("kcal"), "without 'kcal'"),
    ("list_active_energy_burned.json", "activeEnergyBurned",
     lambda v: v["interval"].update(endTime="2026-09-14T12:00:00Z"), "ends before it starts"),
    ("list_active_minutes.json", "activeMinutes",
     lambda v: v["activeMinutesByActivityLevel"].append({"activityLevel": "LIGHT", "activeMinutes": "1"}),
     "LIGHT twice"),
    ("list_active_minutes.json", "activeMinutes",
     lambda v: v["activeMinutesByActivityLevel"][0].update(activityLevel="ACTIVITY_LEVEL_UNSPECIFIED"),
     "is not LIGHT, MODERATE or VIGOROUS"),
    ("list_active_minutes.json", "activeMinutes",
     lambda v: v["activeMinutesByActivityLevel"][0].update(activeMinutes="many"), "active-minutes data point rejected"),
    ("list_active_minutes.json", "activeMinutes",
     lambda v: v["activeMinutesByActivityLevel"][0].update(activeMinutes="61"), "more active minutes than"),
    ("list_active_minutes.json", "activeMinutes", lambda v: v.pop("activeMinutesByActivityLevel"),
     "without 'activeMinutesByActivityLevel'"),
])
def test_a_malformed_energy_or_active_minutes_point_is_rejected_and_the_rest_kept(fixture, member, change, reason):
    page = contract_fixture(fixture)["dataPoints"]
    change(page[0][member])
    table, rejected = parser_for(fixture).to_arrow(page)
    assert table.num_rows == len(page) - 1
    ((point, why),) = rejected
    assert point is page[0] and reason in why


@pytest.mark.parametrize(("change", "reason"), [
    (lambda p: p["heartRate"].update(beatsPerMinute="fast"), "heart-rate data point rejected"),
    (lambda p: p["heartRate"].update(beatsPerMinute="400"), "above 300"),
    (lambda p: p["heartRate"].pop("sampleTime"), "without 'sampleTime'"),
    (lambda p: p["heartRate"]["sampleTime"].update(utcOffset="-4h"), "is not a duration"),
    (lambda p: p["heartRate"]["sampleTime"].update(physicalTime="yesterday"), "heart-rate data point rejected"),
    (lambda p: p.pop("heartRate"), "without 'heartRate'"),
])
def test_a_malformed_point_is_rejected_and_the_rest_of_its_page_kept(change, reason):
    page = contract_fixture("list_heart_rate.json")["dataPoints"]
    change(page[1])
    table, rejected = BY_ENTITY["heart_rate_samples"].to_arrow(page)
    assert table.num_rows == 1 and table["bpm"].to_pylist() == [64]
    ((point, why),) = rejected
    assert point is page[1] and reason in why


def test_int64_values_sent_as_json_numbers_are_read_too():
    page = contract_fixture("list_steps.json")["dataPoints"]
    page[0]["steps"]["count"] = 38
    assert BY_ENTITY["steps_intervals"].to_arrow(page)[0]["steps"].to_pylist() == [38]


def test_a_full_heart_rate_page_becomes_one_arrow_table_column_by_column():
    template = contract_fixture("list_heart_rate.json")["dataPoints"][0]
    page = []
    for i in range(10_000):
        point = copy.deepcopy(template)
        point["heartRate"]["sampleTime"]["physicalTime"] = f"2026-09-14T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"
        point["heartRate"]["beatsPerMinute"] = str(50 + i % 100)
        page.append(point)
    started = time.perf_counter()
    table, rejected = BY_ENTITY["heart_rate_samples"].to_arrow(page)
    assert isinstance(table, pa.Table) and table.num_rows == 10_000 and rejected == []
    assert table.schema.field("sample_at_utc").type == pa.timestamp("us", tz="UTC")
    assert time.perf_counter() - started < 5, "a page is cast by Arrow, not parsed point by point"


@pytest.mark.parametrize(("entity", "expected"), [
    ("heart_rate_samples", 'heart_rate.sample_time.physical_time >= "2025-01-05T00:00:00Z"'),
    ("steps_intervals", 'steps.interval.start_time >= "2025-01-05T00:00:00Z"'),
    ("sleep_sessions", 'sleep.interval.end_time >= "2025-01-05T00:00:00Z"'),
    ("daily_hrv", 'daily_heart_rate_variability.date >= "2025-01-05"'),
    ("exercise_sessions", 'exercise.interval.civil_start_time >= "2025-01-05"'),
    ("active_energy_intervals", 'active_energy_burned.interval.start_time >= "2025-01-05T00:00:00Z"'),
    ("basal_energy_intervals", 'basal_energy_burned.interval.start_time >= "2025-01-05T00:00:00Z"'),
    ("active_minutes_intervals", 'active_minutes.interval.start_time >= "2025-01-05T00:00:00Z"'),
])
def test_the_incremental_filters_are_the_documented_aip_160_members(entity, expected):
    assert BY_ENTITY[entity].filter(date(2025, 1, 5)) == expected
    bounded = BY_ENTITY[entity].filter(date(2025, 1, 5), date(2025, 2, 1))
    assert bounded == f'{expected} AND {expected.replace(">=", "<").replace("2025-01-05", "2025-02-01")}'


def test_page_sizes_follow_the_documentation():
    sizes = {t.kebab: t.page_size for t in DATA_TYPES}
    assert sizes.pop("sleep") == sizes.pop("exercise") == 25
    assert set(sizes.values()) == {10_000}
    assert [t.kebab for t in DATA_TYPES if not t.source_family] == ["sleep"]


def test_the_client_pages_the_documented_shapes_and_frees_each_page(tmp_path):
    """The client's paging path on the fixtures, not on our sandbox: an empty page that only carries a token (the
    API sends those) is followed, the reconciled page after it becomes rows, and no page's points outlive it."""
    import gc
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlparse

    from pipelines.fitbit.client import HealthApiClient
    from pipelines.fitbit.tokens import LocalFileTokenStore, TokenSet

    first = contract_fixture("empty_page_with_token.json")
    last = contract_fixture("reconcile_heart_rate.json")
    assert "nextPageToken" not in last, "the second page is the last"
    asked: list[dict] = []

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            url = urlparse(self.path)
            query = parse_qs(url.query)
            asked.append({"path": url.path, **{k: v[0] for k, v in query.items()}})
            body = json.dumps(last if query.get("pageToken") == [first["nextPageToken"]] else first).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        store = LocalFileTokenStore(tmp_path / "tokens.json")
        store.write(TokenSet("access", "refresh", time.time() + 3600))  # fresh: no call to a token endpoint
        client = HealthApiClient(f"http://127.0.0.1:{server.server_port}/v4", "id", "secret", store, None,
                                 "http://127.0.0.1:9/token")
        heart_rate = BY_ENTITY["heart_rate_samples"]

        gc.collect()
        before, rows = heart_rate_points_alive(), []
        for table, rejected in client.tables(heart_rate, heart_rate.filter(date(2026, 11, 1))):
            assert rejected == [] and gc.isenabled()
            assert heart_rate_points_alive() <= before, "a page's points outlived its conversion"
            rows.append(table.num_rows)
    finally:
        server.shutdown()
        server.server_close()
    assert rows == [0, len(last["dataPoints"])]
    assert [a["path"] for a in asked] == ["/v4/users/me/dataTypes/heart-rate/dataPoints:reconcile"] * 2
    assert "pageToken" not in asked[0] and asked[1]["pageToken"] == first["nextPageToken"]

"""fct_heart_rate_daily is incremental by dlt load id (issue 16): after a new day, and after an old file re-imported
with changed samples, an incremental build equals a full rebuild, and months no load touched are not recomputed.

One small life (60 days, a sample a minute), one DuckDB warehouse for the module, the default vars: the watermark
(the loads the last build saw) alone decides, although every load of this test is seconds old. The samples' de-dup
across files and sources (the windows of int_health__heart_rate_samples' macro) runs on the recomputed months' span
only, and still gives the full rebuild's rows.
"""

from __future__ import annotations

import json
import shutil
from datetime import date

import duckdb
import pytest

from pipelines.common.runner import run_source
from pipelines.fitbit.export import fitbit_export_source
from sandbox.fitbit_data import generate_health
from sandbox.fitbit_export import write_export
from sandbox.life import LifeConfig, SyntheticLife
from tests.conftest import Warehouse, run_dbt

MART = "fct_heart_rate_daily"
NEW_DAY = "Global Export Data/heart_rate-2025-03-01.json"
OLD_DAY = "Global Export Data/heart_rate-2025-01-10.json"  # 50 days before the newest
UNTOUCHED = date(2025, 2, 14)  # a February day: no load after the first touches February


class Life:
    def __init__(self, tmp_path_factory):
        folder = tmp_path_factory.mktemp("incremental")
        health = generate_health(SyntheticLife(LifeConfig(seed=42, start=date(2025, 1, 1), days=60)),
                                 heart_rate_interval=60)
        self.manifest = write_export(health, folder / "export", unread_kinds=False)
        self.held_back = folder / "held_back.json"
        shutil.move(self.manifest.file(NEW_DAY), self.held_back)  # the first export ends a day earlier
        self.warehouse = Warehouse(folder / "warehouse.duckdb")
        self.env = {"WAREHOUSE_PATH": str(folder / "warehouse.duckdb"), "PIPELINES_DIR": str(folder / "dlt"),
                    "PIPELINE_DESTINATION": "duckdb", "RUN_LEDGER": "off"}

    def import_export(self) -> None:
        run_source("fitbit_export", lambda: fitbit_export_source(path=str(self.manifest.path)))

    def rows(self) -> dict[date, tuple]:
        return {r[0]: r[1:] for r in self.warehouse.query(f"select * from marts.{MART} order by 1")}


@pytest.fixture(scope="module")
def life(tmp_path_factory):
    life = Life(tmp_path_factory)
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in life.env.items():
            monkeypatch.setenv(name, value)
        for var in ("FORCE_FULL_REFRESH", "FITBIT_EXPORT_FULL_REFRESH"):
            monkeypatch.delenv(var, raising=False)
        life.import_export()
        run_dbt("run", "--select", f"+{MART}")
        yield life


def incremental_then_full(life: Life) -> tuple[dict, dict]:
    """The mart after an incremental run, with a planted value in an untouched month; then after a full rebuild."""
    con = duckdb.connect(str(life.warehouse.path))
    try:
        con.execute(f"update marts.{MART} set sample_count = -1 where heart_rate_date = ?", [UNTOUCHED])
    finally:
        con.close()
    run_dbt("run", "--select", MART)
    incremental = life.rows()
    seen = {r[0] for r in life.warehouse.query(f"select load_id from marts.{MART}__load_watermark")}
    loads = {r[0] for r in life.warehouse.query("select load_id from raw._dlt_loads where status = 0")}
    assert seen == loads, "the watermark lists every load completed before the build"
    run_dbt("run", "--select", MART, "--full-refresh")
    return incremental, life.rows()


def assert_same_but_untouched(incremental: dict, full: dict) -> None:
    assert incremental[UNTOUCHED][4] == -1, "a month no load touched was recomputed: the build was not incremental"
    assert full[UNTOUCHED][4] > 0
    assert {d: r for d, r in incremental.items() if d != UNTOUCHED} == {d: r for d, r in full.items()
                                                                        if d != UNTOUCHED}


def test_a_new_day_reaches_the_mart_incrementally(life):
    before = life.rows()
    assert date(2025, 3, 2) not in before or before[date(2025, 3, 2)][4] == 0
    shutil.copy(life.held_back, life.manifest.file(NEW_DAY))  # the next cumulative export holds one more day
    life.import_export()
    incremental, full = incremental_then_full(life)
    assert_same_but_untouched(incremental, full)
    assert incremental[date(2025, 3, 1)][4] > before.get(date(2025, 3, 1), (0,) * 5)[4], "the new day's samples"


def test_a_reimported_old_file_reaches_the_mart_by_load_id_not_event_date(life):
    before = life.rows()
    path = life.manifest.file(OLD_DAY)
    samples = json.loads(path.read_text())
    for sample in samples[:120]:
        sample["value"]["bpm"] = 185  # a hard workout added to a day 50 days old
    path.write_text(json.dumps(samples))
    life.import_export()
    incremental, full = incremental_then_full(life)
    assert_same_but_untouched(incremental, full)
    changed = {d for d in full if full[d] != before.get(d) and d != UNTOUCHED}
    assert changed and all(d.month == 1 for d in changed), changed
    assert max(incremental[d][3] for d in changed) == 185  # max_bpm


def test_a_load_the_last_build_did_not_see_is_read_although_newer_loads_were(life):
    """A load that started before a build and completed after it started has an older load id than loads the build
    saw: it is read by the next build (the watermark is the set of loads seen, not the newest id)."""
    first = life.warehouse.scalar("select min(load_id) from raw._dlt_loads where status = 0")
    newer = life.warehouse.scalar("select count(*) from raw._dlt_loads where status = 0 and load_id > ?", [first])
    assert newer >= 1
    con = duckdb.connect(str(life.warehouse.path))
    try:  # as if the first import had completed after the last build started
        con.execute(f"delete from marts.{MART}__load_watermark where load_id = ?", [first])
        con.execute(f"update marts.{MART} set sample_count = -1 where heart_rate_date = ?", [UNTOUCHED])
    finally:
        con.close()
    run_dbt("run", "--select", MART)
    incremental = life.rows()
    run_dbt("run", "--select", MART, "--full-refresh")
    assert incremental[UNTOUCHED][4] > 0, "the unseen load's months were not recomputed"
    assert incremental == life.rows()



def test_the_export_samples_are_cut_to_the_recomputed_span_before_the_staging_windows(life):
    """The export's staging de-dup and recorder windows (partitioned by the instant, then by the day) run on the
    recomputed months' raw rows only: a filter above the staging view cannot reach below a window partitioned by
    the day, so every incremental build ranked all history (10 years: 138 s for one new day, 1 year: 50 s)."""
    path = life.manifest.file("Global Export Data/heart_rate-2025-02-20.json")
    samples = json.loads(path.read_text())
    for sample in samples[:60]:
        sample["value"]["bpm"] = 170
    path.write_text(json.dumps(samples))
    life.import_export()  # February changed: the span is late January to early March, January's rows are outside
    sql = run_dbt("compile", "--select", MART, "--quiet").stdout.strip()
    con = duckdb.connect(str(life.warehouse.path), read_only=True)
    try:
        plan = json.loads(con.execute("explain (format json) " + sql).fetchall()[0][1])
    finally:
        con.close()

    def scans(nodes: list[dict]):
        for node in nodes:
            info = node.get("extra_info") or {}
            if node.get("name") == "SEQ_SCAN" and str(info.get("Table", "")).endswith(".fitbit_export__heart_rate"):
                yield info
            yield from scans(node.get("children") or [])

    raw_scans = list(scans(plan))
    assert raw_scans, plan
    for info in raw_scans:
        assert "sample_at_utc" in str(info.get("Filters", "")), \
            f"the export's raw heart rate is read whole: the span filter stops above the staging windows ({info})"
    run_dbt("run", "--select", MART)
    incremental = life.rows()
    run_dbt("run", "--select", MART, "--full-refresh")
    assert incremental == life.rows()
    assert max(incremental[d][3] for d in incremental if d.month == 2) == 170  # max_bpm: the change reached it


TESTS = ("export_heart_rate_samples_one_row_per_instant", "heart_rate_samples_one_row_per_instant")


def test_the_sample_views_tests_read_the_recomputed_months_and_fail_there(life):
    """The heart-rate sample views' one-row-per-instant tests check the months the mart's last build recomputed (a
    generic test over the views read all history on every build, five times): a sample without a local date in a
    recomputed month fails them, one in a month the build left alone is not read, and a full build reads both."""
    path = life.manifest.file(next(name for name in sorted(life.manifest.files)
                                   if name.startswith("Global Export Data/heart_rate-2025-02-1")))
    samples = json.loads(path.read_text())
    samples[0]["value"]["bpm"] += 1
    path.write_text(json.dumps(samples))
    life.import_export()
    run_dbt("run", "--select", MART)
    months = life.warehouse.query(f"select cast(month_start as varchar) from marts.{MART}__recomputed_months")
    assert months == [("2025-02-01",)]
    raw = "raw.fitbit_export__heart_rate"
    con = duckdb.connect(str(life.warehouse.path))
    try:  # one dateless copy of a sample in a recomputed month (February), one in a month left alone (January)
        for day in ("2025-01-10", "2025-02-20"):
            con.execute(f"insert into {raw} select * replace (sample_at_utc + interval 500 millisecond as "
                        f"sample_at_utc, null as sample_date) from {raw} where sample_date = ? limit 1", [day])
    finally:
        con.close()
    try:
        scoped = run_dbt("test", "--select", *TESTS, check=False)
        assert scoped.returncode != 0
        assert "Got 1 result" in scoped.stdout, scoped.stdout[-3000:]  # February's, not January's
        full = run_dbt("build", "--select", MART, *TESTS, "--full-refresh", check=False)
        assert life.warehouse.query(f"select month_start from marts.{MART}__recomputed_months") == [(None,)]
        assert full.returncode != 0 and "Got 2 results" in full.stdout, full.stdout[-3000:]
    finally:
        con = duckdb.connect(str(life.warehouse.path))
        try:
            con.execute(f"delete from {raw} where sample_date is null")
        finally:
            con.close()


@pytest.mark.slow
def test_incremental_equals_a_full_rebuild_on_postgres(postgres_env, monkeypatch, tmp_path):
    """The same as above into a real PostgreSQL (delete+insert of the recomputed days, the watermark's load ids
    compared as text there too): a new day, incrementally, gives the full rebuild's mart and leaves other months."""
    import psycopg2

    folder = tmp_path / "pg"
    health = generate_health(SyntheticLife(LifeConfig(seed=7, start=date(2025, 1, 1), days=60)),
                             heart_rate_interval=300)
    manifest = write_export(health, folder / "export", unread_kinds=False)
    held_back = folder / "held_back.json"
    shutil.move(manifest.file(NEW_DAY), held_back)
    monkeypatch.setenv("PIPELINE_DESTINATION", "postgres")
    monkeypatch.setenv("PIPELINES_DIR", str(folder / "dlt"))
    monkeypatch.setenv("RUN_LEDGER", "off")
    for var in ("FORCE_FULL_REFRESH", "FITBIT_EXPORT_FULL_REFRESH"):
        monkeypatch.delenv(var, raising=False)
    paths = ("--target-path", str(folder / "dbt"), "--log-path", str(folder / "dbt" / "logs"))

    def rows() -> dict:
        con = psycopg2.connect(host=postgres_env.host, port=postgres_env.port, user=postgres_env.user,
                               dbname=postgres_env.dbname)
        try:
            with con.cursor() as cur:
                cur.execute(f"select * from marts.{MART} order by 1")
                return {r[0]: tuple(float(v) if v is not None else None for v in r[1:]) for r in cur.fetchall()}
        finally:
            con.close()

    def execute(sql: str) -> None:
        con = psycopg2.connect(host=postgres_env.host, port=postgres_env.port, user=postgres_env.user,
                               dbname=postgres_env.dbname)
        try:
            with con, con.cursor() as cur:
                cur.execute(sql)
        finally:
            con.close()

    run_source("fitbit_export", lambda: fitbit_export_source(path=str(manifest.path)))
    run_dbt("run", "--select", f"+{MART}", *paths, target="postgres")
    before = rows()
    untouched = min(d for d in before if d.month == 2 and before[d][4] > 0)  # a February day with samples
    shutil.copy(held_back, manifest.file(NEW_DAY))
    run_source("fitbit_export", lambda: fitbit_export_source(path=str(manifest.path)))
    execute(f"update marts.{MART} set sample_count = -1 where heart_rate_date = '{untouched.isoformat()}'")
    run_dbt("run", "--select", MART, *paths, target="postgres")
    incremental = rows()
    run_dbt("run", "--select", MART, "--full-refresh", *paths, target="postgres")
    full = rows()
    assert incremental[untouched][4] == -1 and full[untouched][4] > 0, "February was recomputed"
    assert {d: r for d, r in incremental.items() if d != untouched} == {d: r for d, r in full.items()
                                                                        if d != untouched}
    assert incremental[date(2025, 3, 1)][4] > before.get(date(2025, 3, 1), (0,) * 5)[4], "the new day's samples"

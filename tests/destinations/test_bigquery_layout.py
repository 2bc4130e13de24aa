"""BigQuery layout of the high-volume raw tables (issue 16): partitioned by month, clustered, written with SQL that
is bounded to what changed, and a migration for tables created before the layout existed.

The emulator takes the partitioned DDL and the migration but keeps no clustering metadata and cannot show
partition pruning or bytes (shared/bigquery-emulator.md): the layout is proven by the DDL and the DML that dlt
and our code actually send, recorded on their way to the emulator.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from dlt.destinations.impl.bigquery.sql_client import BigQuerySqlClient

from pipelines.common import bigquery_layout
from pipelines.common.runner import run_source
from pipelines.common.settings import make_pipeline
from pipelines.fitbit import fitbit_source
from pipelines.fitbit.export import fitbit_export_source
from sandbox.fitbit_data import generate_health
from sandbox.fitbit_export import write_export
from sandbox.life import LifeConfig, SyntheticLife
from scripts import bigquery_layout as migration

pytestmark = pytest.mark.filterwarnings("ignore:Cannot create BigQuery Storage client")

HR = "fitbit_export__heart_rate"
HEALTH_HR = "fitbit__heart_rate_samples"


@pytest.fixture
def recorded_sql(monkeypatch) -> list[str]:
    """Every statement dlt and our code send to BigQuery, recorded on its way (the emulator still runs it)."""
    statements: list[str] = []
    original = BigQuerySqlClient.execute_query

    def recording(self, query, *args, **kwargs):
        text = query if isinstance(query, str) else query.decode()
        # dlt sends a table chain's DDL or a merge as one script: one entry per statement
        statements.extend(part.strip() for part in re.split(r";\s*\n", text) if part.strip())
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(BigQuerySqlClient, "execute_query", recording)
    return statements


def small_export(tmp_path, days: int = 4):
    health = generate_health(SyntheticLife(LifeConfig(seed=42, start=date(2025, 1, 1), days=days)),
                             heart_rate_interval=60)
    return write_export(health, tmp_path / "export", unread_kinds=False)


def deletes_on(statements: list[str], table: str) -> list[str]:
    return [s for s in statements if re.search(rf"delete\s+from\s+\S*{table}\b", s, re.IGNORECASE)]


def test_the_layout_is_only_for_bigquery_and_only_for_high_volume_tables():
    assert bigquery_layout.table_hints(HR) == ({}, {}), "no pipeline: no BigQuery hints"
    import dlt

    pipeline = dlt.pipeline("layout_duck", destination="duckdb", dataset_name="raw", pipelines_dir="/tmp/unused")
    assert bigquery_layout.table_hints(HR, pipeline) == ({}, {})
    for table, layout in bigquery_layout.LAYOUTS.items():
        assert "_dlt_load_id" in layout.cluster, f"{table}: the marts find changed days by load id"
    assert "fitbit_export__sleep" not in bigquery_layout.LAYOUTS


def test_export_on_bigquery_is_partitioned_and_replaces_a_changed_file_by_its_blocks(
        bigquery_env, recorded_sql, tmp_path, monkeypatch):
    emulator = bigquery_env
    monkeypatch.setenv("PIPELINE_DESTINATION", "bigquery")
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("RUN_LEDGER", "off")
    manifest = small_export(tmp_path)
    run_source("fitbit_export", lambda: fitbit_export_source(path=str(manifest.path)))

    # the CREATE TABLE dlt sent: month partitions on the UTC instant, clustered by file then load id
    created = [s for s in recorded_sql if re.search(rf"CREATE TABLE \S*{HR}`", s)]
    assert len(created) == 1, recorded_sql
    assert "PARTITION BY TIMESTAMP_TRUNC(`sample_at_utc`, MONTH)" in created[0]
    assert "CLUSTER BY `source_file`, `_dlt_load_id`" in created[0]
    steps = next(s for s in recorded_sql if re.search(r"CREATE TABLE \S*fitbit_export__steps`", s))
    assert "PARTITION BY TIMESTAMP_TRUNC(`start_at_utc`, MONTH)" in steps
    sleep = next(s for s in recorded_sql if re.search(r"CREATE TABLE \S*fitbit_export__sleep`", s))
    assert "PARTITION BY" not in sleep and "CLUSTER BY" not in sleep
    before = emulator.query(f"select count(*) from raw.{HR}")[1][0][0]
    assert before == manifest.rows["heart_rate"]

    # one day file edited: its rows go by `source_file` (the first clustering column), nothing else is read
    name = "Global Export Data/heart_rate-2025-01-02.json"
    path = manifest.file(name)
    samples = json.loads(path.read_text())
    samples[0]["value"]["bpm"] = 201
    path.write_text(json.dumps(samples))
    recorded_sql.clear()
    run_source("fitbit_export", lambda: fitbit_export_source(path=str(manifest.path)))
    deletes = deletes_on(recorded_sql, HR)
    assert len(deletes) == 1 and f"where source_file in ('{name}')" in deletes[0], deletes
    assert not any("EXISTS" in s.upper() for s in deletes_on(recorded_sql, "fitbit_export__"))
    assert emulator.query(f"select count(*) from raw.{HR}")[1][0][0] == before
    assert emulator.query(f"select max(bpm) from raw.{HR} where source_file = '{name}'")[1][0][0] == 201


def test_google_health_on_bigquery_deletes_only_its_window_partitions(
        bigquery_env, google_health_api, recorded_sql, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_DESTINATION", "bigquery")
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("SOURCES__FITBIT__DATA_TYPES", '["heart_rate_samples", "daily_resting_heart_rate"]')
    run_source("fitbit", fitbit_source)
    created = next(s for s in recorded_sql if re.search(rf"CREATE TABLE \S*{HEALTH_HR}`", s))
    assert "PARTITION BY DATE_TRUNC(`window_date`, MONTH)" in created
    assert "CLUSTER BY `_dlt_load_id`, `sample_at_utc`" in created
    resting = next(s for s in recorded_sql if re.search(r"CREATE TABLE \S*fitbit__daily_resting_heart_rate`", s))
    assert "PARTITION BY" not in resting

    recorded_sql.clear()
    run_source("fitbit", fitbit_source)  # the lag window re-read and replaced
    deletes = deletes_on(recorded_sql, HEALTH_HR)
    assert deletes, recorded_sql
    for statement in deletes:
        # a predicate on the partition column only: BigQuery prunes to the window's month(s)
        assert re.search(r"WHERE window_date >= '\d{4}-\d{2}-\d{2}'", statement), statement
        assert "EXISTS" not in statement.upper()
    rows = bigquery_env.query(f"select count(*), count(distinct sample_at_utc) from raw.{HEALTH_HR}")[1][0]
    assert rows[0] == rows[1] > 0, "the re-read window replaced its rows, it did not append them twice"


def test_migration_rebuilds_plain_tables_with_the_layout(bigquery_env, tmp_path, monkeypatch, capsys):
    """Tables created before the layout (no hints) are rebuilt: CREATE ... PARTITION BY ... CLUSTER BY ... AS
    SELECT, row counts compared, then swapped in."""
    emulator = bigquery_env
    monkeypatch.setenv("PIPELINE_DESTINATION", "bigquery")
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("RUN_LEDGER", "off")
    manifest = small_export(tmp_path)
    with monkeypatch.context() as older_version:  # plain tables, as before the layout
        older_version.setattr(bigquery_layout, "LAYOUTS", {})
        run_source("fitbit_export", lambda: fitbit_export_source(path=str(manifest.path)))
    before = emulator.query(f"select count(*), sum(bpm) from raw.{HR}")[1][0]

    pipeline = make_pipeline("fitbit_export")
    plan = migration.plan(pipeline)
    assert {step.table for step in plan} == {HR, "fitbit_export__steps"}
    assert migration.main(["--migrate"]) == 0
    out = capsys.readouterr().out
    assert f"CREATE TABLE `local-project`.`raw`.`{HR}__layout`" in out
    assert "PARTITION BY TIMESTAMP_TRUNC(`sample_at_utc`, MONTH)" in out
    assert emulator.query(f"select count(*), sum(bpm) from raw.{HR}")[1][0] == before
    # the copy was renamed (the emulator's catalog, INFORMATION_SCHEMA and tables.list, misses renames: ask by name)
    with pytest.raises(Exception, match="Not found"):
        emulator.query(f"select count(*) from raw.{HR}__layout")
    # the emulator keeps no partitioning metadata (get_table says None), so "already laid out" is checked on the
    # client's own Table objects as BigQuery would describe the tables
    from google.cloud import bigquery

    layout = bigquery_layout.LAYOUTS[HR]
    table = bigquery.Table(f"local-project.raw.{HR}")
    assert not migration.has_layout(table, layout)
    table.time_partitioning = bigquery.TimePartitioning(type_="MONTH", field="sample_at_utc")
    table.clustering_fields = ["source_file", "_dlt_load_id"]
    assert migration.has_layout(table, layout)
    table.time_partitioning = bigquery.TimePartitioning(type_="DAY", field="sample_at_utc")
    assert not migration.has_layout(table, layout)

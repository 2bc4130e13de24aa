"""No row data left behind (issue 14, item 6): after a successful run the pipelines folder holds state, schemas
and small package manifests, never the records themselves (dlt keeps completed load jobs unless told not to).

Every file under the pipelines folder is read (gzip job files decompressed, parquet files decoded) and searched
for values that only exist in the source's records: HubSpot e-mail addresses, company names and note bodies,
Notion page titles and free-text property values.
"""

from __future__ import annotations

import gzip

import pytest

from tests.reliability.conftest import source_env
from tests.reliability.harness import files_under, run_in_process, warehouse_env

PLANTED = {
    "hubspot": ["select email from raw.hubspot__contacts where email is not null",
                "select name from raw.hubspot__companies where name is not null",
                "select hs_note_body from raw.hubspot__engagements where hs_note_body is not null"],
    "notion": ["select title from raw.notion__habit_pages where title is not null",
               "select value_text from raw.notion__habit_pages__properties "
               "where property_type in ('rich_text', 'title') and value_text is not null"],
}


def readable(path) -> str:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    elif data[:4] == b"PAR1":
        import pyarrow.parquet as pq

        return str(pq.read_table(path).to_pylist())
    return data.decode("utf-8", "replace")


@pytest.mark.parametrize("source", sorted(PLANTED))
def test_a_successful_run_leaves_no_records_in_the_pipelines_folder(source, fresh_sandbox, tmp_path, clean_env,
                                                                    warehouse_query):
    clean_env.delenv("LOAD__DELETE_COMPLETED_JOBS", raising=False)  # the runner's own default must do it
    for k, v in {**source_env(source, fresh_sandbox), **warehouse_env(tmp_path)}.items():
        clean_env.setenv(k, v)
    assert run_in_process(source) == 0

    values = {v for sql in PLANTED[source] for (v,) in warehouse_query(tmp_path / "warehouse.duckdb", sql)
              if isinstance(v, str) and len(v) >= 8}
    assert len(values) >= 20, values
    files = files_under(tmp_path / "dlt_pipelines")
    assert files
    found = {str(p.relative_to(tmp_path)): [v for v in values if v in text]
             for p in files if (text := readable(p)) and any(v in text for v in values)}
    assert found == {}, f"records left in the pipelines folder: { {k: v[:3] for k, v in found.items()} }"

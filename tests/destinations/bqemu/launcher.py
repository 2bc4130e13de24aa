"""Starts the bqemulator BigQuery emulator with server-side fixes; run by .venv-bqemu's python, never imported by pytest.

Usage: .venv-bqemu/bin/python tests/destinations/bqemu/launcher.py start --rest-port P --grpc-port G ...
(the arguments are bqemulator's own CLI). Bugs 2 and 3 are those of shared/bigquery-emulator.md; the
others were found loading this project's sources. test_emulator_fixes_answer_like_bigquery checks each.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlglot
from bqemulator.api.routes import jobs
from bqemulator.cli import main
from bqemulator.jobs import executor
from bqemulator.sql.rewriter import default_dataset as default_dataset_module
from bqemulator.sql.rules import datetime_semantics
from fastapi.routing import APIRoute

QUERY_RESULTS_PATH = "/projects/{project_id}/queries/{job_id}"


def temp_table_names(statements: list) -> set[str]:
    """Tables a script creates with CREATE TEMP TABLE: session-scoped, never in the default dataset."""
    names = set()
    for statement in statements:
        for create in statement.find_all(sqlglot.exp.Create):
            target = create.this.find(sqlglot.exp.Table) if create.this else None
            if (create.kind or "").upper() == "TABLE" and create.find(sqlglot.exp.TemporaryProperty) and target:
                names.add(target.name)
    return names


def patch_default_dataset_rewrite() -> None:
    """Bug 2 and a sibling of it. With a defaultDataset the emulator re-generated every query through
    sqlglot, which turns `` `p`.`ds`.INFORMATION_SCHEMA.COLUMNS `` into SQL that fails with a 500 (dlt and
    dbt both query it): fully qualified SQL now passes through untouched. It also qualified the temp
    tables of a script (dlt's merge jobs: CREATE TEMPORARY TABLE x ...; DELETE ... IN (SELECT * FROM x))
    with the default dataset, and DuckDB has no such schema for temp tables: they are left alone now,
    like CTE names. jobs.py imports the function at call time, so replacing the module attribute is enough.
    """
    original = default_dataset_module.qualify_unqualified_tables

    @functools.wraps(original)
    def qualify_unqualified_tables(bq_sql: str, *, default_project: str, default_dataset: str) -> str:
        if not default_project or not default_dataset:
            return bq_sql
        try:
            statements = [s for s in sqlglot.parse(bq_sql, read="bigquery") if s is not None]
        except sqlglot.errors.ParseError:
            return original(bq_sql, default_project=default_project, default_dataset=default_dataset)
        temp_tables = temp_table_names(statements)
        shadowed = [default_dataset_module._collect_cte_names(s) | temp_tables for s in statements]
        if not any(table.name and table.name not in names and not default_dataset_module._is_qualified(table)
                   for statement, names in zip(statements, shadowed, strict=True)
                   for table in statement.find_all(sqlglot.exp.Table)):
            return bq_sql
        for statement, names in zip(statements, shadowed, strict=True):
            default_dataset_module._qualify_tables(statement, default_project=default_project,
                                                   default_dataset=default_dataset, shadowed_names=names)
        return ";\n".join(statement.sql(dialect="bigquery") for statement in statements)

    default_dataset_module.qualify_unqualified_tables = qualify_unqualified_tables


def patch_get_query_results() -> None:
    """Bug 3: getQueryResults with maxResults=0 (the client's "is it done?" poll) answered `"rows": []`;
    real BigQuery leaves `rows` out, and the client took the empty list for the whole first page
    (dlt's `dataset().<table>.arrow()` then returned 0 rows). The route is re-registered at the same
    position around a wrapper; FastAPI reads the original signature through functools.wraps."""
    router = jobs.router
    index, route = next((i, r) for i, r in enumerate(router.routes)
                        if isinstance(r, APIRoute) and r.path == router.prefix + QUERY_RESULTS_PATH
                        and "GET" in r.methods)
    original = route.endpoint

    @functools.wraps(original)
    def get_query_results(*args: Any, **kwargs: Any) -> dict[str, Any]:
        response = original(*args, **kwargs)
        if kwargs.get("maxResults") == 0:
            response.pop("rows", None)
        return response

    router.routes.pop(index)
    router.add_api_route(QUERY_RESULTS_PATH, get_query_results, methods=sorted(route.methods), name=route.name)
    router.routes.insert(index, router.routes.pop())


def patch_parquet_load_by_name() -> None:
    """A fifth bug: Parquet load jobs inserted the file's columns by position. BigQuery matches them by
    name and fills the table's other columns with NULL; dlt relies on that when the Fitbit Web API
    (4 columns of daily activity) loads into a table the data export created with 7."""

    def load_parquet(path: str, target_ref: str, ctx: Any) -> None:
        ctx.engine.execute(f"INSERT INTO {target_ref} BY NAME SELECT * FROM read_parquet(?)", [path])

    executor._LOAD_FORMAT_HANDLERS["PARQUET"] = load_parquet


def patch_approx_quantiles_offset() -> None:
    """A sixth bug: `approx_quantiles(x, 2)[offset(1)]` (a common BigQuery median) returned the third
    value, not the second. The emulator re-parses its DuckDB SQL, where sqlglot types the aggregate as a scalar
    and so leaves the 1-based index as it is; the rule swaps in an untyped quantile_disc() call, and
    writing the SQL back then adds the 1-based offset a second time. The replacement keeps the type."""
    original = datetime_semantics.ApproxQuantilesDiscreteRule.rewrite

    @functools.wraps(original)
    def rewrite(self: Any, node: sqlglot.exp.Expression) -> sqlglot.exp.Expression:
        replacement = original(self, node)
        if replacement is not node and node.type is not None:
            replacement.type = node.type.copy()
        return replacement

    datetime_semantics.ApproxQuantilesDiscreteRule.rewrite = rewrite


if __name__ == "__main__":
    patch_default_dataset_rewrite()
    patch_get_query_results()
    patch_parquet_load_by_name()
    patch_approx_quantiles_offset()
    main()

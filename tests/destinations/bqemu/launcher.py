"""Starts the bqemulator BigQuery emulator with server-side fixes; run by .venv-bqemu's python, never imported by pytest.

Usage: .venv-bqemu/bin/python tests/destinations/bqemu/launcher.py start --rest-port P --grpc-port G ...
(the arguments are bqemulator's own CLI). Bugs 2 and 3 are those of shared/bigquery-emulator.md; the
others were found loading this project's sources. test_emulator_fixes_answer_like_bigquery checks each.
Two more patches and the collector's thresholds only make it faster (the same answers, measured in their
docstrings): the suite's BigQuery build is CPU-bound in the emulator's SQL parsing.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections import OrderedDict
from typing import Any

import sqlglot
from bqemulator.api.routes import jobs
from bqemulator.cli import main
from bqemulator.jobs import executor
from bqemulator.sql.rewriter import default_dataset as default_dataset_module
from bqemulator.sql.rules import datetime_semantics
from fastapi.routing import APIRoute
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.parser import Parser

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


def patch_implicit_unnest_copies() -> None:
    """Speed, not a bug: sqlglot's BigQuery parser, to tell `FROM t, t.arr` (an implicit UNNEST) from a join,
    deep-copies every FROM and JOIN operand only to read its alias. An operand that is a subquery was copied
    whole, at every level of nesting, which made a quarter of the emulator's CPU in this suite's dbt build
    (dbt's tests wrap each model query in another). A subquery's name is its alias either way, so its body is
    left out of the copy; tables are copied as before. The method is sqlglot 30.11's, with that one change, so
    another sqlglot keeps its own method (only slower)."""
    if not sqlglot.__version__.startswith("30.11."):
        return

    def ref_copy(node: sqlglot.exp.Expression) -> sqlglot.exp.Expression:
        body = node.args.get("this")
        if not isinstance(body, sqlglot.exp.Query):
            return node.copy()
        node.args["this"] = None  # detached without re-parenting; `name` of a query body is "" anyway
        try:
            return node.copy()
        finally:
            node.args["this"] = body

    def _implicit_unnests_to_explicit(self: Parser, this: Any) -> Any:
        refs = {normalize_identifiers(ref_copy(this.args["from_"].this), dialect=self.dialect).alias_or_name}
        for join in this.args.get("joins") or []:
            table = join.this
            normalized_table = ref_copy(table)
            normalized_table.meta["maybe_column"] = True
            normalized_table = normalize_identifiers(normalized_table, dialect=self.dialect)
            if isinstance(table, sqlglot.exp.Table) and not join.args.get("on"):
                if len(normalized_table.parts) > 1 and normalized_table.parts[0].name in refs:
                    table_as_column = table.to_column()
                    unnest = sqlglot.exp.Unnest(expressions=[table_as_column])
                    if isinstance(table.args.get("alias"), sqlglot.exp.TableAlias):
                        table_as_column.replace(table_as_column.this)
                        sqlglot.exp.alias_(unnest, None, table=[table.args["alias"].this], copy=False)
                    table.replace(unnest)
            refs.add(normalized_table.alias_or_name)
        return this

    Parser._implicit_unnests_to_explicit = _implicit_unnests_to_explicit


def patch_parse_cache(size: int = 256) -> None:
    """Speed, not a bug: the emulator parses one statement again in each of its rewrite steps (about fifteen
    `parse_one` calls on the same SQL), which was over half its CPU. Each dialect's parse of a given text is
    kept (the last `size` texts) and handed out as a fresh copy, so no caller sees another's edits; a copy
    costs about a quarter of a parse. Parse errors are not kept: they raise every time, as before."""
    original = Dialect.parse
    cache: OrderedDict = OrderedDict()
    lock = threading.Lock()  # the REST handlers run on a thread pool

    @functools.wraps(original)
    def parse(self: Dialect, sql: str, **opts: Any) -> list:
        try:
            key = (type(self), self.normalization_strategy, tuple(sorted(self.settings.items())), sql,
                   tuple(sorted(opts.items())))
            hash(key)
        except TypeError:
            return original(self, sql, **opts)
        with lock:
            parsed = cache.get(key)
            if parsed is not None:
                cache.move_to_end(key)
        if parsed is None:
            parsed = original(self, sql, **opts)
            with lock:
                cache[key] = parsed
                while len(cache) > size:
                    cache.popitem(last=False)
        return [statement.copy() if statement is not None else None for statement in parsed]

    Dialect.parse = parse


def tune_garbage_collector() -> None:
    """Speed, not a bug: sqlglot's trees hold their parents (cycles only the collector frees), the parse cache keeps
    a few hundred of them, and Python's default thresholds ran 64 full collections of that heap in the suite's
    emulator test (11-14 s of the emulator's CPU). With fewer, larger young collections and a tenth of the full
    ones: one full collection, 4 s in all; the test's call took 97-100 s instead of 102-124 s (2026-12-02)."""
    gc.set_threshold(20_000, 10, 100)


if __name__ == "__main__":
    tune_garbage_collector()
    patch_implicit_unnest_copies()
    patch_parse_cache()
    patch_default_dataset_rewrite()
    patch_get_query_results()
    patch_parquet_load_by_name()
    patch_approx_quantiles_offset()
    main()

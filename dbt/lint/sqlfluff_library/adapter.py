"""Stand-in for dbt's `adapter` in sqlfluff: dispatch finds our `<adapter>__`/`default__` macro like dbt does.

The adapter to prefer comes from SQLFLUFF_DBT_ADAPTER (scripts/lint_sql.sh sets it per dialect).
"""

from __future__ import annotations

import os

from jinja2 import pass_context


class _Relation:
    """What get_relation returns when the table exists; its str() is a plausible table name."""

    def __init__(self, identifier: str = "existing_relation"):
        self.identifier = identifier

    def __str__(self) -> str:
        return self.identifier


@pass_context
def dispatch(context, macro_name: str, macro_namespace: str | None = None):
    adapter = os.environ.get("SQLFLUFF_DBT_ADAPTER", "duckdb")
    for candidate in (f"{adapter}__{macro_name}", f"default__{macro_name}"):
        macro = context.get(candidate)
        if macro is not None:
            return macro
    # a dbt-internal macro we have no stand-in for: a call of the same name still parses
    return lambda *args, **kwargs: f"{macro_name}({', '.join(str(a) for a in args)})"


def get_relation(database=None, schema=None, identifier=None) -> _Relation:
    return _Relation(str(identifier or "existing_relation"))


def get_columns_in_relation(relation) -> list:
    """No columns known: a column added by a later pipeline version renders as its null stand-in."""
    return []

"""Stand-ins for dbt's cross-database `dbt.*` macros: each renders a plain SQL expression both dialects parse.

Only for sqlfluff: the SQL they render is never run, it only has to be the right kind of expression
in the right place so the hand-written SQL around it can be linted.
"""

from __future__ import annotations


def _args(*args: object) -> str:
    return ", ".join(str(a) for a in args)


# types: names both the duckdb and the bigquery dialect accept in a cast
def type_string() -> str:
    return "string"


def type_int() -> str:
    return "int64"


def type_bigint() -> str:
    return "int64"


def type_float() -> str:
    return "float64"


def type_numeric() -> str:
    return "numeric"


def type_boolean() -> str:
    return "bool"


def type_timestamp() -> str:
    return "timestamp"


# expressions
def hash(field: object) -> str:  # noqa: A001 - mirrors dbt.hash
    return f"md5({field})"


def concat(fields: list) -> str:
    return f"concat({_args(*fields)})"


def current_timestamp() -> str:
    return "current_timestamp"


def dateadd(datepart: str, interval: object, from_date: object) -> str:
    return f"date_add({from_date}, {interval})"


def datediff(first_date: object, second_date: object, datepart: str) -> str:
    return f"date_diff({second_date}, {first_date})"


def date_trunc(datepart: str, date: object) -> str:
    return f"date_trunc({date})"


def last_day(date: object, datepart: str) -> str:
    return f"last_day({date})"


def safe_cast(field: object, type_: str) -> str:
    return f"safe_cast({field} as {type_})"


def cast(field: object, type_: str) -> str:
    return f"cast({field} as {type_})"


def split_part(string_text: object, delimiter_text: object, part_number: object) -> str:
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


def listagg(measure: object, delimiter_text: object = "','", order_by_clause: object = None, limit_num=None) -> str:
    return f"string_agg({measure}, {delimiter_text})"


def date_spine(datepart: str, start_date: object, end_date: object) -> str:
    return f"select date_day from unnest(generate_date_array({start_date}, {end_date})) as date_day"

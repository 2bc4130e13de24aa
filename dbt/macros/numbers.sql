{#- round() returning a 64-bit float on every target. Postgres has no round(double precision, int),
    and its numeric round() reads back as 0.500 where DuckDB and BigQuery say 0.5. -#}
{% macro round_float(expr, digits) %}{{ return(adapter.dispatch('round_float')(expr, digits)) }}{% endmacro %}
{% macro default__round_float(expr, digits) %}round({{ expr }}, {{ digits }}){% endmacro %}
{#- DuckDB's round(double) works on the binary value: 68.55 is 68.5499999... and became 68.5 where Postgres and
    BigQuery say 68.6. Rounding its decimal value (10 places hold every figure a mart keeps) agrees with them. -#}
{% macro duckdb__round_float(expr, digits) -%}
    cast(round(cast({{ expr }} as decimal(38, 10)), {{ digits }}) as double)
{%- endmacro %}
{% macro postgres__round_float(expr, digits) -%}
    cast(round(cast({{ expr }} as numeric), {{ digits }}) as double precision)
{%- endmacro %}

{#- dbt.type_float() is `float` on every adapter, and DuckDB's float is 32-bit (REAL): 2394.136 read
    back as 2394.135986. Postgres' float and BigQuery's FLOAT64 are 64-bit; DuckDB gets double too. -#}
{% macro duckdb__type_float() %}double{% endmacro %}

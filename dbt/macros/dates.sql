{#- Date parts that differ between DuckDB, Postgres and BigQuery. All return plain values on DATE input. -#}

{% macro iso_day_of_week(d) %}{{ return(adapter.dispatch('iso_day_of_week')(d)) }}{% endmacro %}
{% macro default__iso_day_of_week(d) %}cast(extract(isodow from {{ d }}) as {{ dbt.type_int() }}){% endmacro %}
{% macro bigquery__iso_day_of_week(d) %}(mod(extract(dayofweek from {{ d }}) + 5, 7) + 1){% endmacro %}

{% macro iso_week(d) %}{{ return(adapter.dispatch('iso_week')(d)) }}{% endmacro %}
{% macro default__iso_week(d) %}cast(extract(week from {{ d }}) as {{ dbt.type_int() }}){% endmacro %}
{% macro bigquery__iso_week(d) %}extract(isoweek from {{ d }}){% endmacro %}

{% macro iso_year(d) %}{{ return(adapter.dispatch('iso_year')(d)) }}{% endmacro %}
{% macro default__iso_year(d) %}cast(extract(isoyear from {{ d }}) as {{ dbt.type_int() }}){% endmacro %}
{% macro bigquery__iso_year(d) %}extract(isoyear from {{ d }}){% endmacro %}

{% macro day_name(d) %}{{ return(adapter.dispatch('day_name')(d)) }}{% endmacro %}
{% macro default__day_name(d) %}trim(to_char({{ d }}, 'Day')){% endmacro %}
{% macro duckdb__day_name(d) %}dayname({{ d }}){% endmacro %}
{% macro bigquery__day_name(d) %}format_date('%A', {{ d }}){% endmacro %}

{% macro month_name(d) %}{{ return(adapter.dispatch('month_name')(d)) }}{% endmacro %}
{% macro default__month_name(d) %}trim(to_char({{ d }}, 'Month')){% endmacro %}
{% macro duckdb__month_name(d) %}monthname({{ d }}){% endmacro %}
{% macro bigquery__month_name(d) %}format_date('%B', {{ d }}){% endmacro %}

{#- dbt.dateadd returns DATETIME on BigQuery and TIMESTAMP on Postgres; these stay dates. -#}
{% macro add_days(d, n) %}cast({{ dbt.dateadd('day', n, d) }} as date){% endmacro %}
{% macro week_start(d) %}{{ add_days(d, '1 - ' ~ iso_day_of_week(d)) }}{% endmacro %}
{% macro month_start(d) %}cast({{ dbt.date_trunc('month', d) }} as date){% endmacro %}
{% macro month_end(d) %}{{ add_days("cast(" ~ dbt.dateadd('month', 1, month_start(d)) ~ " as date)", -1) }}{% endmacro %}

{#- The "today" of the marts: var as_of_date, else the latest value of `column` in `relation`. -#}
{% macro as_of_date(relation, column) -%}
    {%- if var('as_of_date') -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        (select max({{ column }}) from {{ relation }})
    {%- endif -%}
{%- endmacro %}

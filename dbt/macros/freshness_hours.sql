{#- Pipeline freshness thresholds (hours since a source's last successful run), the one home of them:
    var pipeline_freshness_hours = {default: {warn_after: 36, error_after: 168}, <source>: {warn_after: ..,
    error_after: ..}}. Rendered as a SQL case on `source_column`. error_after null: that source is never
    stale (one you stopped running); `dbt run-operation check_pipeline_freshness` fails on stale ones. -#}
{% macro freshness_hours(source_column, threshold) -%}
    {%- set hours = var('pipeline_freshness_hours', {
        'default': {'warn_after': 36, 'error_after': 168},
        'hubspot': {'warn_after': 24, 'error_after': 72},
    }) -%}
    {%- set overrides = hours.items() | rejectattr('0', 'equalto', 'default') | list if hours is mapping else [] -%}
    cast(
    {%- if overrides %}
        case
            {%- for source_name, limits in overrides if threshold in limits %}
            when {{ source_column }} = '{{ source_name }}' then {{ _hours_literal(limits[threshold]) }}
            {%- endfor %}
            else {{ _hours_literal(hours['default'][threshold]) }}
        end
    {%- else %}{{ _hours_literal(hours['default'][threshold]) }}{% endif %} as {{ dbt.type_int() }})
{%- endmacro %}

{% macro _hours_literal(value) %}{{ 'null' if value is none else value }}{% endmacro %}

{#- "Now" for health checks: var ops_as_of (a timestamp, for tests and backfills) else the current time. -#}
{% macro ops_now() -%}
    {%- if var('ops_as_of', none) -%}
        cast('{{ var("ops_as_of") }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
        {{ dbt.current_timestamp() }}
    {%- endif -%}
{%- endmacro %}

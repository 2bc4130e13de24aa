{#- Per-source freshness threshold (hours) from var pipeline_freshness_hours, as a SQL case on `source_column`:
    {default: {warn_after: 36, error_after: 168}, <source>: {warn_after: .., error_after: ..}}. -#}
{% macro freshness_hours(source_column, threshold) -%}
    {%- set hours = var('pipeline_freshness_hours', {
        'default': {'warn_after': 36, 'error_after': 168},
        'hubspot': {'warn_after': 24, 'error_after': 72},
    }) -%}
    {%- set overrides = hours.items() | rejectattr('0', 'equalto', 'default') | list if hours is mapping else [] -%}
    {%- if overrides -%}
    case
        {%- for source_name, limits in overrides if threshold in limits %}
        when {{ source_column }} = '{{ source_name }}' then {{ limits[threshold] }}
        {%- endfor %}
        else {{ hours['default'][threshold] }}
    end
    {%- else -%}
    {{ hours['default'][threshold] }}
    {%- endif -%}
{%- endmacro %}

{#- "Now" for health checks: var ops_as_of (a timestamp, for tests and backfills) else the current time. -#}
{% macro ops_now() -%}
    {%- if var('ops_as_of', none) -%}
        cast('{{ var("ops_as_of") }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
        {{ dbt.current_timestamp() }}
    {%- endif -%}
{%- endmacro %}

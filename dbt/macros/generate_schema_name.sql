{#- staging/intermediate/marts land in schemas of those names; non-prod BigQuery targets get the
    target dataset as a prefix (e.g. dev_marts) so development never overwrites production. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif target.type == 'bigquery' and target.name != 'prod' -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

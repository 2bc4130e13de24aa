{#- A source that may not exist yet (the run ledger before the first pipeline run): its columns when the
    table is there, else an empty relation of the same columns and types, so a fresh warehouse still builds.
    `columns` maps column name -> type. The table is recorded in the model's meta.optional_source_tables,
    which tells scripts/dbt_build.py that the model builds without it (one such source per model: a
    staging model reads one raw table). -#}
{% macro source_if_exists(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {{- config(meta={'optional_source_tables': [source_name ~ '.' ~ table_name]}) -}}
    {%- set exists = not execute or adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) is not none -%}
    select
    {%- for name, type in columns.items() %}
        {% if exists %}{{ name }}{% else %}cast(null as {{ type }}) as {{ name }}{% endif %}
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
    {% if exists %}from {{ relation }}{% else %}limit 0{% endif %}
{%- endmacro %}

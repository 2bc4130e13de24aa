{#- A source that may not exist yet (the run ledger before the first pipeline run): its columns when the
    table is there, else an empty relation of the same columns and types, so a fresh warehouse still builds.
    `columns` maps column name -> type. -#}
{% macro source_if_exists(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
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

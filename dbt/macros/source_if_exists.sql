{#- A source that may not exist yet (the run ledger before the first pipeline run): its columns when the
    table is there, else an empty relation of the same columns and types, so a fresh warehouse still builds.
    `columns` maps column name -> type. The table is recorded in the model's meta.optional_source_tables,
    which tells scripts/dbt_build.py that the model builds without it (one such source per model: a
    staging model reads one raw table). `added_later` names columns a newer pipeline version added: a table
    an older version loaded lacks them until a new file loads into it, and reads them as null.
    `record_optional` false: a staging body called from another model (whose own meta lists its tables). -#}
{% macro source_if_exists(source_name, table_name, columns, added_later=[], record_optional=true) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if record_optional -%}
    {{- config(meta={'optional_source_tables': [source_name ~ '.' ~ table_name]}) -}}
    {%- endif -%}
    {%- set exists = not execute or adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) is not none -%}
    {%- set present = [] -%}
    {%- if exists and added_later and execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- do present.append(column.name | lower) -%}
        {%- endfor -%}
    {%- endif -%}
    select
    {%- for name, type in columns.items() %}
        {% if exists and (name not in added_later or name in present) -%}
            {{ name }}
        {%- else -%}
            cast(null as {{ type }}) as {{ name }}
        {%- endif %}
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
    {% if exists %}from {{ relation }}{% else %}limit 0{% endif %}
{%- endmacro %}

{#- Rejected records (../shared/design.md): every source writes the records it could not load to its own
    raw.<source>__rejected table, created by the first rejection, so any of them may be absent. This unions
    the ones that exist (`tables`: [source_name, table_name] pairs declared in the sources YAML), without the
    payload: the record itself (personal data) stays in raw. An empty relation of the same columns when none
    exists. All tables are recorded at once in meta.optional_source_tables (scripts/dbt_build.py: the model
    builds without any of them). -#}
{% macro union_rejected_tables(tables) -%}
    {%- set relations = [] -%}
    {%- set names = [] -%}
    {%- for source_name, table_name in tables -%}
        {%- set relation = source(source_name, table_name) -%}
        {%- do names.append(source_name ~ '.' ~ table_name) -%}
        {%- if execute and adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier
        ) is not none -%}
            {%- do relations.append(relation) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- config(meta={'optional_source_tables': names}) -}}
    {%- for relation in relations %}
    select
        rejected_id,
        source,
        entity,
        record_key,
        reason,
        origin,
        _dlt_load_id
    from {{ relation }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as rejected_id,
        cast(null as {{ dbt.type_string() }}) as source,
        cast(null as {{ dbt.type_string() }}) as entity,
        cast(null as {{ dbt.type_string() }}) as record_key,
        cast(null as {{ dbt.type_string() }}) as reason,
        cast(null as {{ dbt.type_string() }}) as origin,
        cast(null as {{ dbt.type_string() }}) as _dlt_load_id
    limit 0
    {%- endfor %}
{%- endmacro %}

{#- When a dlt load happened, from its load id (the Unix time the load package was created, e.g.
    '1764597845.123456'), as an instant (type_timestamp_utc). -#}
{% macro load_id_timestamp(column) %}{{ return(adapter.dispatch('load_id_timestamp')(column)) }}{% endmacro %}
{% macro default__load_id_timestamp(column) -%}
    to_timestamp(cast({{ column }} as {{ dbt.type_float() }}))
{%- endmacro %}
{% macro bigquery__load_id_timestamp(column) -%}
    timestamp_micros(cast(cast({{ column }} as float64) * 1000000 as int64))
{%- endmacro %}

{#- Data recency: the source tables watched are every declared source table with a loaded_at_field and a
    freshness warn_after in the sources YAML (the one home of those thresholds, shared with
    `dbt source freshness`) that exists in the warehouse. Renders one select per such table (source_name,
    table_name, latest_record_at = max of the loaded_at_field, which is the record's own time, and
    warn_after_hours), unioned; an empty relation of those columns when there is none (or at parse time). -#}
{% macro data_recency_latest_records() %}
    {%- set hours_per = {'minute': 1 / 60, 'hour': 1, 'day': 24} -%}
    {%- set tables = [] -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() | sort(attribute='unique_id') -%}
            {%- set warn_after = (node.freshness or {}).get('warn_after') or {} -%}
            {%- if warn_after.get('count') and node.loaded_at_field -%}
                {%- set relation = adapter.get_relation(
                    database=node.database, schema=node.schema, identifier=node.identifier
                ) -%}
                {%- if relation is not none -%}
                    {%- do tables.append({
                        'source_name': node.source_name,
                        'table_name': node.name,
                        'relation': relation,
                        'loaded_at_field': node.loaded_at_field,
                        'warn_after_hours': warn_after['count'] * hours_per[warn_after['period']],
                    }) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for table in tables %}
    select
        '{{ table.source_name }}' as source_name,
        '{{ table.table_name }}' as table_name,
        max(cast({{ table.loaded_at_field }} as {{ dbt.type_timestamp() }})) as latest_record_at,
        cast({{ table.warn_after_hours }} as {{ dbt.type_float() }}) as warn_after_hours
    from {{ table.relation }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as source_name,
        cast(null as {{ dbt.type_string() }}) as table_name,
        cast(null as {{ dbt.type_timestamp() }}) as latest_record_at,
        cast(null as {{ dbt.type_float() }}) as warn_after_hours
    limit 0
    {%- endfor %}
{% endmacro %}

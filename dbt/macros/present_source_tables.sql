{#- Prints (as one JSON line after `present_source_tables:`) which declared source tables exist in the
    warehouse, as "<source>.<table>": scripts/dbt_build.py builds only what those tables feed. -#}
{% macro present_source_tables() %}
    {%- set present = [] -%}
    {%- for node in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- if adapter.get_relation(database=node.database, schema=node.schema, identifier=node.identifier) is not none -%}
            {%- do present.append(node.source_name ~ '.' ~ node.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ print('present_source_tables: ' ~ tojson(present)) }}
{% endmacro %}

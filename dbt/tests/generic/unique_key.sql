{#- Fails on every value of `columns` (one column or several) held by more than one row of `model`: the key a
    pipeline merges on, or the natural key an append table owns, must be there once (a crash that leaves a
    key twice shows here). Ours because dbt packages (dbt_utils' unique_combination_of_columns) are out of
    reach. `optional: true` for a raw table that exists only once its pipeline wrote it (a source's rejected
    records, an export without that file type): an absent table holds no duplicates and passes. -#}
{% test unique_key(model, columns, optional=false) %}
    {%- set key = columns if columns is string else columns | join(', ') -%}
    {%- set exists = true -%}
    {%- if optional and execute -%}
        {%- set exists = adapter.get_relation(
            database=model.database, schema=model.schema, identifier=model.identifier
        ) is not none -%}
    {%- endif -%}
    {%- if exists %}
    select
        {{ key }},
        count(*) as rows_with_key
    from {{ model }}
    group by {{ key }}
    having count(*) > 1
    {%- else %}
    select 1 as rows_with_key
    limit 0
    {%- endif %}
{% endtest %}

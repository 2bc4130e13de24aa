{#- Fails on every value of `columns` (one column or several) held by more than one row of `model`: the key a
    pipeline merges on, or the natural key an append table owns, must be there once (a crash that leaves a
    key twice shows here). Ours because dbt packages (dbt_utils' unique_combination_of_columns) are out of
    reach. `optional: true` for a raw table that exists only once its pipeline wrote it (a source's rejected
    records, an export without that file type): an absent table holds no duplicates and passes.
    `added_later` names key columns a newer pipeline version added: a table an older version loaded lacks
    them until a new file loads into it, and its key is then the other columns. `recomputed_by` (a mart's name) with
    `instant_column`: only the rows in the span of the months that mart's last build recomputed (all after a full
    build, see macros/recomputed_months.sql), for a raw table too large to read whole on every build. -#}
{% test unique_key(model, columns, optional=false, added_later=[], recomputed_by=none, instant_column=none) %}
    {%- set columns = [columns] if columns is string else columns -%}
    {%- set exists = true -%}
    {%- if optional and execute -%}
        {%- set exists = adapter.get_relation(
            database=model.database, schema=model.schema, identifier=model.identifier
        ) is not none -%}
    {%- endif -%}
    {%- if exists and added_later and execute -%}
        {%- set present = adapter.get_columns_in_relation(model) | map(attribute='name') | map('lower') | list -%}
        {%- set columns = columns | reject('in', added_later | reject('in', present) | list) | list -%}
    {%- endif -%}
    {%- set key = columns | join(', ') -%}
    {%- if exists %}
    select
        {{ key }},
        count(*) as rows_with_key
    from {{ model }}
    {%- if recomputed_by is not none %}
    where {{ in_utc_span(instant_column, recomputed_months(ref(recomputed_by))) }}
    {%- endif %}
    group by {{ key }}
    having count(*) > 1
    {%- else %}
    select 1 as rows_with_key
    limit 0
    {%- endif %}
{% endtest %}

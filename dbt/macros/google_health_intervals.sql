{#- The staging body of a Google Health API interval table (raw.fitbit__<entity>_intervals: one row per
    interval start of the reconciled stream): the interval's times, the local activity date, lineage, and the
    table's own value columns. `columns`: raw column -> type, for source_if_exists when the table is absent;
    `values`: the select lines of those columns, already cast and named. -#}
{% macro google_health_intervals(table_name, columns, values) %}
{%- set all_columns = {
    'start_at_utc': type_timestamp_utc(),
    'end_at_utc': type_timestamp_utc(),
    'start_at_local': type_timestamp_local(),
    'start_utc_offset_seconds': dbt.type_bigint(),
} %}
{%- do all_columns.update(columns) %}
with

source as (

    {{ source_if_exists('google_health', table_name, all_columns) }}

),

renamed as (

    select
        -- timestamps and dates
        cast(start_at_utc as {{ type_timestamp_utc() }}) as start_at_utc,
        cast(end_at_utc as {{ type_timestamp_utc() }}) as end_at_utc,
        cast(start_at_local as {{ type_timestamp_local() }}) as start_at_local,
        cast(start_utc_offset_seconds / 60 as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(start_at_local as date) as activity_date,

        -- values
        {%- for line in values %}
        {{ line }},
        {%- endfor %}

        -- lineage
        cast('google_health_api' as {{ dbt.type_string() }}) as source_system,
        1 as source_rank

    from source

)

select * from renamed
{% endmacro %}

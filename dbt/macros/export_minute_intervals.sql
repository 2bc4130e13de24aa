{#- A Takeout export's per-minute interval table (steps, calories: `value` is its one numeric column, cast to
    `value_type`) as a staging model: one row per minute of one recorder per local day. A recorder's minute
    held by two files (month files that overlap their neighbours, JSON and CSV twins) counts once, the later
    file name first; then only the rows of the day's top recorder (largest daily total: a watch and a phone
    record the same walk, macros/top_recorder_of_day.sql) are kept. Lineage columns for int_health__*
    (source_rank 2). -#}
{% macro export_minute_intervals(table_name, value, value_type) -%}
with

source as (

    {{ source_if_exists('fitbit_export', table_name, {
        'start_at_utc': type_timestamp_utc(),
        'end_at_utc': type_timestamp_utc(),
        'start_at_local': type_timestamp_local(),
        'utc_offset_minutes': dbt.type_bigint(),
        'activity_date': 'date',
        value: value_type,
        'data_source': dbt.type_string(),
        'source_file': dbt.type_string(),
    }, added_later=['data_source']) }}

),

{{ export_top_recorder_rows('source', 'start_at_utc', 'activity_date', 'sum(' ~ value ~ ')') }},

renamed as (

    select
        -- timestamps and dates
        cast(start_at_utc as {{ type_timestamp_utc() }}) as start_at_utc,
        cast(end_at_utc as {{ type_timestamp_utc() }}) as end_at_utc,
        start_at_local,
        cast(utc_offset_minutes as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(activity_date as date) as activity_date,

        -- the measure
        cast({{ value }} as {{ value_type }}) as {{ value }},

        -- lineage
        data_source,
        source_file,
        cast('takeout_export' as {{ dbt.type_string() }}) as source_system,
        2 as source_rank

    from day_recorder

)

select * from renamed
{%- endmacro %}

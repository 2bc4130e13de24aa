{#- A Takeout export's per-minute interval table (steps, calories: `value` is its one numeric column, cast to
    `value_type`) as a staging model: one row per minute, where a minute held by two files (month files that
    overlap their neighbours, JSON and CSV twins) counts once, the later file name first; lineage columns for
    int_health__* (source_rank 2). -#}
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
        'source_file': dbt.type_string(),
    }) }}

),

ranked as (

    select
        *,
        row_number() over (partition by start_at_utc order by source_file desc) as file_rank
    from source

),

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
        source_file,
        cast('takeout_export' as {{ dbt.type_string() }}) as source_system,
        2 as source_rank

    from ranked
    where file_rank = 1

)

select * from renamed
{%- endmacro %}

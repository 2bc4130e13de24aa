-- one row per minute of energy burned (kcal, BMR included): month files overlap and JSON/CSV twins may repeat a
-- minute, so the same minute can come from two files; the later file name wins
with

source as (

    {{ source_if_exists('fitbit_export', 'fitbit_export__calories', {
        'start_at_utc': type_timestamp_utc(),
        'end_at_utc': type_timestamp_utc(),
        'start_at_local': type_timestamp_local(),
        'utc_offset_minutes': dbt.type_bigint(),
        'activity_date': 'date',
        'calories_kcal': dbt.type_float(),
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

        -- numerics (kcal)
        cast(calories_kcal as {{ dbt.type_float() }}) as calories_kcal,

        -- lineage
        source_file,
        cast('takeout_export' as {{ dbt.type_string() }}) as source_system,
        2 as source_rank

    from ranked
    where file_rank = 1

)

select * from renamed

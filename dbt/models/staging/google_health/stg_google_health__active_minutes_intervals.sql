-- one row per active-minutes interval start (the reconciled stream) with whole minutes per activity level, named
-- as the export names them: the API's LIGHT, MODERATE and VIGOROUS are Fitbit's lightly, moderately and very
-- active minutes. A level the interval did not have is null in raw and 0 here. The API has no sedentary level.
with

source as (

    {{ source_if_exists('google_health', 'fitbit__active_minutes_intervals', {
        'start_at_utc': type_timestamp_utc(),
        'end_at_utc': type_timestamp_utc(),
        'start_at_local': type_timestamp_local(),
        'start_utc_offset_seconds': dbt.type_bigint(),
        'light_minutes': dbt.type_bigint(),
        'moderate_minutes': dbt.type_bigint(),
        'vigorous_minutes': dbt.type_bigint(),
    }) }}

),

renamed as (

    select
        -- timestamps and dates
        cast(start_at_utc as {{ type_timestamp_utc() }}) as start_at_utc,
        cast(end_at_utc as {{ type_timestamp_utc() }}) as end_at_utc,
        cast(start_at_local as {{ type_timestamp_local() }}) as start_at_local,
        cast(start_utc_offset_seconds / 60 as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(start_at_local as date) as activity_date,

        -- numerics (minutes)
        cast(coalesce(vigorous_minutes, 0) as {{ dbt.type_int() }}) as very_active_minutes,
        cast(coalesce(moderate_minutes, 0) as {{ dbt.type_int() }}) as moderately_active_minutes,
        cast(coalesce(light_minutes, 0) as {{ dbt.type_int() }}) as lightly_active_minutes,

        -- lineage
        cast('google_health_api' as {{ dbt.type_string() }}) as source_system,
        1 as source_rank

    from source

)

select * from renamed

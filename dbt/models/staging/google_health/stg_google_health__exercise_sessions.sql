-- one row per exercise session (the API's exercise type, e.g. WALKING; calories in kcal, distance in
-- millimetres converted to metres)
with

source as (

    {{ source_if_exists('google_health', 'fitbit__exercise_sessions', {
        'exercise_id': dbt.type_string(),
        'start_at_utc': type_timestamp_utc(),
        'end_at_utc': type_timestamp_utc(),
        'start_at_local': type_timestamp_local(),
        'end_at_local': type_timestamp_local(),
        'start_utc_offset_seconds': dbt.type_bigint(),
        'exercise_type': dbt.type_string(),
        'display_name': dbt.type_string(),
        'active_duration_seconds': dbt.type_float(),
        'calories_kcal': dbt.type_float(),
        'distance_millimeters': dbt.type_float(),
        'steps': dbt.type_bigint(),
        'average_heart_rate_bpm': dbt.type_bigint(),
    }) }}

),

renamed as (

    select
        -- ids
        exercise_id,

        -- timestamps and dates
        cast(start_at_utc as {{ type_timestamp_utc() }}) as start_at_utc,
        cast(end_at_utc as {{ type_timestamp_utc() }}) as end_at_utc,
        cast(start_at_local as {{ type_timestamp_local() }}) as start_at_local,
        cast(end_at_local as {{ type_timestamp_local() }}) as end_at_local,
        cast(start_utc_offset_seconds / 60 as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(start_at_local as date) as activity_date,

        -- text
        lower(exercise_type) as exercise_type,
        display_name,

        -- numerics (SI: seconds, metres; energy in kcal)
        cast(
            coalesce(active_duration_seconds, {{ dbt.datediff('start_at_utc', 'end_at_utc', 'second') }})
            as {{ dbt.type_float() }}
        ) as duration_seconds,
        cast(calories_kcal as {{ dbt.type_float() }}) as calories_kcal,
        {{ round_float('distance_millimeters / 1000.0', 3) }} as distance_meters,
        cast(steps as {{ dbt.type_bigint() }}) as steps,
        cast(average_heart_rate_bpm as {{ dbt.type_int() }}) as average_heart_rate_bpm,

        -- lineage
        cast('google_health_api' as {{ dbt.type_string() }}) as source_system,
        1 as source_rank

    from source

)

select * from renamed

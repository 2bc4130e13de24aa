-- one row per exercise session: JSON activity logs (exercise-N.json: Fitbit's activityName, distance in the
-- account's unit) and CSV sessions (UserExercises_*.csv: distance in mm). A session held by two files (JSON and
-- CSV twins, re-exported logs) counts once: the same start instant is the same session, the later file name
-- wins. Activity names map to the Google Health API's exercise types where they are the same activity.
with

source as (

    {{ source_if_exists('fitbit_export', 'fitbit_export__exercise', {
        'exercise_id': dbt.type_string(),
        'start_at_utc': type_timestamp_utc(),
        'end_at_utc': type_timestamp_utc(),
        'start_at_local': type_timestamp_local(),
        'end_at_local': type_timestamp_local(),
        'utc_offset_minutes': dbt.type_bigint(),
        'activity_date': 'date',
        'activity_name': dbt.type_string(),
        'log_type': dbt.type_string(),
        'duration_ms': dbt.type_bigint(),
        'active_duration_ms': dbt.type_bigint(),
        'calories_kcal': dbt.type_float(),
        'distance_value': dbt.type_float(),
        'distance_unit': dbt.type_string(),
        'steps': dbt.type_bigint(),
        'average_heart_rate_bpm': dbt.type_bigint(),
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
        -- ids
        exercise_id,

        -- timestamps and dates
        cast(start_at_utc as {{ type_timestamp_utc() }}) as start_at_utc,
        cast(end_at_utc as {{ type_timestamp_utc() }}) as end_at_utc,
        start_at_local,
        end_at_local,
        cast(utc_offset_minutes as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(activity_date as date) as activity_date,

        -- text
        case lower(activity_name)
            when 'walk' then 'walking'
            when 'outdoor walk' then 'walking'
            when 'run' then 'running'
            when 'outdoor run' then 'running'
            when 'treadmill' then 'running'
            when 'bike' then 'biking'
            when 'outdoor bike' then 'biking'
            when 'weights' then 'strength_training'
            when 'strength training' then 'strength_training'
            else replace(lower(activity_name), ' ', '_')
        end as exercise_type,
        activity_name as display_name,
        log_type,

        -- numerics (SI: seconds, metres; energy in kcal)
        cast(coalesce(active_duration_ms, duration_ms) / 1000.0 as {{ dbt.type_float() }}) as duration_seconds,
        cast(calories_kcal as {{ dbt.type_float() }}) as calories_kcal,
        {{ round_float(
            "distance_value * case distance_unit when 'kilometer' then 1000.0 when 'km' then 1000.0 "
            ~ "when 'mile' then 1609.344 when 'mi' then 1609.344 when 'meter' then 1.0 when 'm' then 1.0 "
            ~ "when 'mm' then 0.001 end", 3) }} as distance_meters,
        cast(steps as {{ dbt.type_bigint() }}) as steps,
        cast(average_heart_rate_bpm as {{ dbt.type_int() }}) as average_heart_rate_bpm,

        -- lineage
        source_file,
        cast('takeout_export' as {{ dbt.type_string() }}) as source_system,
        2 as source_rank

    from ranked
    where file_rank = 1

)

select * from renamed

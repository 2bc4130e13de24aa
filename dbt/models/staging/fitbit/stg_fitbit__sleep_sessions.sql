-- LEGACY sleep logs (raw.fitbit__sleep, no longer written): local wall times only, so the instants are derived
-- in var health_timezone (default UTC). When the API and the old export both loaded a log, the latest load wins.
with

source as (

    {{ source_if_exists('fitbit', 'fitbit__sleep', {
        'log_id': dbt.type_bigint(),
        'date_of_sleep': 'date',
        'start_time': type_timestamp_local(),
        'end_time': type_timestamp_local(),
        'sleep_type': dbt.type_string(),
        'is_main_sleep': dbt.type_boolean(),
        'time_in_bed': dbt.type_bigint(),
        'minutes_asleep': dbt.type_bigint(),
        'minutes_awake': dbt.type_bigint(),
        'minutes_to_fall_asleep': dbt.type_bigint(),
        'efficiency': dbt.type_bigint(),
        'deep_minutes': dbt.type_bigint(),
        'light_minutes': dbt.type_bigint(),
        'rem_minutes': dbt.type_bigint(),
        'wake_minutes': dbt.type_bigint(),
        'asleep_minutes': dbt.type_bigint(),
        'restless_minutes': dbt.type_bigint(),
        'awake_minutes': dbt.type_bigint(),
        'origin': dbt.type_string(),
        'loaded_at': type_timestamp_utc(),
    }) }}

),

latest as (

    select
        *,
        row_number() over (partition by log_id order by loaded_at desc) as version_rank
    from source

),

renamed as (

    select
        -- ids
        cast(log_id as {{ dbt.type_string() }}) as sleep_id,
        log_id,

        -- timestamps and dates (instants derived from local wall time)
        cast({{ local_to_utc('start_time', legacy_health_timezone()) }} as {{ type_timestamp_utc() }})
            as start_at_utc,
        cast({{ local_to_utc('end_time', legacy_health_timezone()) }} as {{ type_timestamp_utc() }})
            as end_at_utc,
        start_time as start_at_local,
        end_time as end_at_local,
        cast(null as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(date_of_sleep as date) as sleep_date,

        -- text
        sleep_type,
        cast(null as {{ dbt.type_string() }}) as log_type,

        -- flags
        is_main_sleep,

        -- numerics (minutes)
        cast(minutes_asleep as {{ dbt.type_int() }}) as minutes_asleep,
        cast(time_in_bed as {{ dbt.type_int() }}) as minutes_in_bed,
        cast(minutes_awake as {{ dbt.type_int() }}) as minutes_awake,
        cast(minutes_to_fall_asleep as {{ dbt.type_int() }}) as minutes_to_fall_asleep,
        cast(efficiency as {{ dbt.type_int() }}) as efficiency,
        cast(case when sleep_type = 'stages' then deep_minutes end as {{ dbt.type_int() }}) as deep_minutes,
        cast(case when sleep_type = 'stages' then light_minutes end as {{ dbt.type_int() }}) as light_minutes,
        cast(case when sleep_type = 'stages' then rem_minutes end as {{ dbt.type_int() }}) as rem_minutes,
        cast(
            case
                when sleep_type = 'stages' then wake_minutes
                else coalesce(awake_minutes, 0) + coalesce(restless_minutes, 0)
            end as {{ dbt.type_int() }}
        ) as wake_minutes,
        cast(asleep_minutes as {{ dbt.type_int() }}) as classic_asleep_minutes,
        cast(restless_minutes as {{ dbt.type_int() }}) as classic_restless_minutes,
        cast(awake_minutes as {{ dbt.type_int() }}) as classic_awake_minutes,

        -- lineage
        cast('fitbit__sleep' as {{ dbt.type_string() }}) as source_file,
        cast(
            case when origin = 'api' then 'fitbit_web_api_legacy' else 'takeout_export_legacy' end
            as {{ dbt.type_string() }}
        ) as source_system,
        3 as source_rank

    from latest
    where version_rank = 1

)

select * from renamed

-- one row per sleep session, with the canonical columns of int_health__sleep_sessions. The API gives stage
-- minutes per stage type (AWAKE, LIGHT, DEEP, REM; classic sleep ASLEEP, RESTLESS, AWAKE) and no efficiency:
-- efficiency is derived here as Fitbit defines it, minutes asleep over minutes asleep plus awake.
with

source as (

    {{ source_if_exists('google_health', 'fitbit__sleep_sessions', {
        'sleep_id': dbt.type_string(),
        'start_at_utc': type_timestamp_utc(),
        'end_at_utc': type_timestamp_utc(),
        'start_at_local': type_timestamp_local(),
        'end_at_local': type_timestamp_local(),
        'start_utc_offset_seconds': dbt.type_bigint(),
        'sleep_type': dbt.type_string(),
        'is_main_sleep': dbt.type_boolean(),
        'is_nap': dbt.type_boolean(),
        'minutes_in_sleep_period': dbt.type_bigint(),
        'minutes_asleep': dbt.type_bigint(),
        'minutes_awake': dbt.type_bigint(),
        'minutes_to_fall_asleep': dbt.type_bigint(),
        'awake_minutes': dbt.type_bigint(),
        'light_minutes': dbt.type_bigint(),
        'deep_minutes': dbt.type_bigint(),
        'rem_minutes': dbt.type_bigint(),
        'asleep_minutes': dbt.type_bigint(),
        'restless_minutes': dbt.type_bigint(),
    }) }}

),

typed as (

    select
        *,
        lower(sleep_type) as sleep_type_name
    from source

),

renamed as (

    select
        -- ids
        sleep_id,

        -- timestamps and dates (sleep_date: the local date the sleep ended)
        cast(start_at_utc as {{ type_timestamp_utc() }}) as start_at_utc,
        cast(end_at_utc as {{ type_timestamp_utc() }}) as end_at_utc,
        cast(start_at_local as {{ type_timestamp_local() }}) as start_at_local,
        cast(end_at_local as {{ type_timestamp_local() }}) as end_at_local,
        cast(start_utc_offset_seconds / 60 as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(end_at_local as date) as sleep_date,

        -- text
        sleep_type_name as sleep_type,

        -- flags
        coalesce(is_main_sleep, false) as is_main_sleep,
        coalesce(is_nap, false) as is_nap,

        -- numerics (minutes)
        cast(minutes_asleep as {{ dbt.type_int() }}) as minutes_asleep,
        cast(minutes_in_sleep_period as {{ dbt.type_int() }}) as minutes_in_bed,
        cast(minutes_awake as {{ dbt.type_int() }}) as minutes_awake,
        cast(minutes_to_fall_asleep as {{ dbt.type_int() }}) as minutes_to_fall_asleep,
        cast(
            round(100.0 * minutes_asleep / nullif(minutes_asleep + minutes_awake, 0)) as {{ dbt.type_int() }}
        ) as efficiency,
        cast(case when sleep_type_name = 'stages' then deep_minutes end as {{ dbt.type_int() }}) as deep_minutes,
        cast(case when sleep_type_name = 'stages' then light_minutes end as {{ dbt.type_int() }}) as light_minutes,
        cast(case when sleep_type_name = 'stages' then rem_minutes end as {{ dbt.type_int() }}) as rem_minutes,
        cast(
            case
                when sleep_type_name = 'stages' then awake_minutes
                else coalesce(awake_minutes, 0) + coalesce(restless_minutes, 0)
            end as {{ dbt.type_int() }}
        ) as wake_minutes,
        cast(case when sleep_type_name = 'classic' then asleep_minutes end as {{ dbt.type_int() }})
            as classic_asleep_minutes,
        cast(case when sleep_type_name = 'classic' then restless_minutes end as {{ dbt.type_int() }})
            as classic_restless_minutes,
        cast(case when sleep_type_name = 'classic' then awake_minutes end as {{ dbt.type_int() }})
            as classic_awake_minutes,

        -- lineage
        cast('google_health_api' as {{ dbt.type_string() }}) as source_system,
        1 as source_rank

    from typed

)

select * from renamed

-- one row per sleep session: JSON logs (local times, Fitbit's logId, stage summary) and CSV sessions (UTC times
-- with their own offsets, stage minutes summed from the stage segments). A log can sit in two month files;
-- the later file name wins. The CSV layout has no main-sleep flag: there the longest sleep of the date is main.
with

source as (

    {{ source_if_exists('fitbit_export', 'fitbit_export__sleep', {
        'sleep_id': dbt.type_string(),
        'log_id': dbt.type_bigint(),
        'start_at_utc': type_timestamp_utc(),
        'end_at_utc': type_timestamp_utc(),
        'start_at_local': type_timestamp_local(),
        'end_at_local': type_timestamp_local(),
        'utc_offset_minutes': dbt.type_bigint(),
        'sleep_date': 'date',
        'sleep_type': dbt.type_string(),
        'log_type': dbt.type_string(),
        'is_main_sleep': dbt.type_boolean(),
        'minutes_asleep': dbt.type_bigint(),
        'minutes_awake': dbt.type_bigint(),
        'minutes_in_bed': dbt.type_bigint(),
        'minutes_to_fall_asleep': dbt.type_bigint(),
        'efficiency': dbt.type_bigint(),
        'deep_minutes': dbt.type_bigint(),
        'light_minutes': dbt.type_bigint(),
        'rem_minutes': dbt.type_bigint(),
        'wake_minutes': dbt.type_bigint(),
        'asleep_minutes': dbt.type_bigint(),
        'restless_minutes': dbt.type_bigint(),
        'awake_minutes': dbt.type_bigint(),
        'source_file': dbt.type_string(),
    }) }}

),

stages as (

    select * from {{ ref('stg_fitbit_export__sleep_stages') }}

),

stage_minutes as (

    select
        sleep_id,
        sum(case when stage = 'deep' then seconds else 0 end) / 60 as deep_minutes,
        sum(case when stage = 'light' then seconds else 0 end) / 60 as light_minutes,
        sum(case when stage = 'rem' then seconds else 0 end) / 60 as rem_minutes,
        sum(case when stage = 'wake' then seconds else 0 end) / 60 as wake_minutes,
        sum(case when stage = 'asleep' then seconds else 0 end) / 60 as asleep_minutes,
        sum(case when stage = 'restless' then seconds else 0 end) / 60 as restless_minutes,
        sum(case when stage = 'awake' then seconds else 0 end) / 60 as awake_minutes
    from stages
    group by sleep_id

),

latest as (

    select
        *,
        row_number() over (partition by sleep_id order by source_file desc) as file_rank
    from source

),

sessions as (

    select
        latest.sleep_id,
        latest.log_id,
        latest.start_at_utc,
        latest.end_at_utc,
        latest.start_at_local,
        latest.end_at_local,
        latest.utc_offset_minutes,
        latest.sleep_date,
        latest.sleep_type,
        latest.log_type,
        latest.is_main_sleep,
        latest.minutes_asleep,
        latest.minutes_awake,
        latest.minutes_in_bed,
        latest.minutes_to_fall_asleep,
        latest.efficiency,
        coalesce(latest.deep_minutes, stage_minutes.deep_minutes) as deep_minutes,
        coalesce(latest.light_minutes, stage_minutes.light_minutes) as light_minutes,
        coalesce(latest.rem_minutes, stage_minutes.rem_minutes) as rem_minutes,
        coalesce(latest.wake_minutes, stage_minutes.wake_minutes) as wake_minutes,
        coalesce(latest.asleep_minutes, stage_minutes.asleep_minutes) as asleep_minutes,
        coalesce(latest.restless_minutes, stage_minutes.restless_minutes) as restless_minutes,
        coalesce(latest.awake_minutes, stage_minutes.awake_minutes) as awake_minutes,
        latest.source_file,
        row_number() over (
            partition by latest.sleep_date order by latest.minutes_asleep desc, latest.start_at_utc asc
        ) as length_rank
    from latest
    left join stage_minutes
        on latest.sleep_id = stage_minutes.sleep_id
    where latest.file_rank = 1

),

renamed as (

    select
        -- ids
        sleep_id,
        log_id,

        -- timestamps and dates (sleep_date: the local date the sleep ended)
        cast(start_at_utc as {{ type_timestamp_utc() }}) as start_at_utc,
        cast(end_at_utc as {{ type_timestamp_utc() }}) as end_at_utc,
        start_at_local,
        end_at_local,
        cast(utc_offset_minutes as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(sleep_date as date) as sleep_date,

        -- text
        sleep_type,
        log_type,

        -- flags
        coalesce(is_main_sleep, length_rank = 1) as is_main_sleep,

        -- numerics (minutes)
        cast(minutes_asleep as {{ dbt.type_int() }}) as minutes_asleep,
        cast(minutes_in_bed as {{ dbt.type_int() }}) as minutes_in_bed,
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
        source_file,
        cast('takeout_export' as {{ dbt.type_string() }}) as source_system,
        2 as source_rank

    from sessions

)

select * from renamed

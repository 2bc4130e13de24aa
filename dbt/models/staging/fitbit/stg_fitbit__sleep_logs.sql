with

source as (

    select * from {{ source('fitbit', 'fitbit__sleep') }}

),

-- the API and the export may both have loaded a log: keep the latest load of each logId
latest as (

    select
        *,
        row_number() over (partition by log_id order by loaded_at desc) as version_rank
    from source

),

renamed as (

    select
        -- ids
        log_id as sleep_log_id,

        -- text
        sleep_type,
        origin,

        -- numerics
        time_in_bed as time_in_bed_minutes,
        minutes_asleep,
        minutes_awake,
        minutes_to_fall_asleep,
        efficiency,
        deep_minutes,
        light_minutes,
        rem_minutes,
        wake_minutes,
        asleep_minutes as classic_asleep_minutes,
        restless_minutes as classic_restless_minutes,
        awake_minutes as classic_awake_minutes,

        -- dates and timestamps (local wall-clock)
        cast(date_of_sleep as date) as date_of_sleep,
        start_time as started_at_local,
        end_time as ended_at_local,

        -- flags
        is_main_sleep

    from latest
    where version_rank = 1

)

select * from renamed

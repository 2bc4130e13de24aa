-- which night a sleep session counts for: sessions ending before 18:00 count for that day (the
-- night that ended this morning, or today's nap); sessions ending at 18:00 or later (dozing off
-- on the sofa at 21:00) belong to the coming night, labelled by the next day
with

sessions as (

    select * from {{ ref('stg_fitbit__sleep_logs') }}

),

assigned as (

    select
        sleep_log_id,
        cast({{ dbt.dateadd('hour', 6, 'ended_at_local') }} as date) as assigned_sleep_date,
        date_of_sleep,
        started_at_local,
        ended_at_local,
        sleep_type,
        is_main_sleep,
        time_in_bed_minutes,
        minutes_asleep,
        minutes_awake,
        minutes_to_fall_asleep,
        efficiency,
        -- stages logs split sleep into deep/light/rem; classic logs only know asleep/restless/awake
        case when sleep_type = 'stages' then deep_minutes end as deep_minutes,
        case when sleep_type = 'stages' then light_minutes end as light_minutes,
        case when sleep_type = 'stages' then rem_minutes end as rem_minutes,
        case
            when sleep_type = 'stages'
                then coalesce(deep_minutes, 0) + coalesce(light_minutes, 0) + coalesce(rem_minutes, 0)
            else classic_asleep_minutes
        end as stage_asleep_minutes,
        case
            when sleep_type = 'stages' then wake_minutes
            else coalesce(classic_awake_minutes, 0) + coalesce(classic_restless_minutes, 0)
        end as stage_awake_minutes,
        origin
    from sessions

)

select * from assigned

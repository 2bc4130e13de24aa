-- which night a sleep session counts for: sessions ending before 18:00 local time count for that day (the
-- night that ended this morning, or today's nap); sessions ending at 18:00 or later (dozing off on the sofa at
-- 21:00) belong to the coming night, labelled by the next day
with

sessions as (

    select * from {{ ref('int_health__sleep_sessions') }}

),

assigned as (

    select
        sleep_session_id,
        sleep_id,
        cast({{ dbt.dateadd('hour', 6, 'end_at_local') }} as date) as assigned_sleep_date,
        sleep_date,
        start_at_utc,
        end_at_utc,
        start_at_local,
        end_at_local,
        utc_offset_minutes,
        sleep_type,
        is_main_sleep,
        minutes_in_bed,
        minutes_asleep,
        minutes_awake,
        minutes_to_fall_asleep,
        efficiency,
        -- stages sessions split sleep into deep/light/rem; classic ones only know asleep/restless/awake
        case when sleep_type = 'stages' then deep_minutes end as deep_minutes,
        case when sleep_type = 'stages' then light_minutes end as light_minutes,
        case when sleep_type = 'stages' then rem_minutes end as rem_minutes,
        case
            when sleep_type = 'stages'
                then coalesce(deep_minutes, 0) + coalesce(light_minutes, 0) + coalesce(rem_minutes, 0)
            else minutes_asleep
        end as stage_asleep_minutes,
        wake_minutes as stage_awake_minutes,
        source_system
    from sessions

)

select * from assigned

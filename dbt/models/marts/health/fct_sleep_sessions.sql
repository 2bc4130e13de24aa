with

sessions as (

    select * from {{ ref('int_sleep_sessions_assigned') }}

),

final as (

    select
        sleep_log_id,
        assigned_sleep_date,
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
        deep_minutes,
        light_minutes,
        rem_minutes,
        stage_asleep_minutes,
        stage_awake_minutes,
        origin
    from sessions

)

select * from final

with

sessions as (

    select * from {{ ref('int_sleep_sessions_assigned') }}

),

final as (

    select
        sleep_session_id,
        sleep_id,
        assigned_sleep_date,
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
        deep_minutes,
        light_minutes,
        rem_minutes,
        stage_asleep_minutes,
        stage_awake_minutes,
        source_system
    from sessions

)

select * from final

-- one row per exercise session, whichever source recorded it (int_health__exercise_sessions: a session in two
-- sources counts once, the better-ranked source's row)
with

sessions as (

    select * from {{ ref('int_health__exercise_sessions') }}

),

final as (

    select
        exercise_session_id,
        exercise_id,
        start_at_utc,
        end_at_utc,
        start_at_local,
        end_at_local,
        utc_offset_minutes,
        activity_date,
        exercise_type,
        display_name,
        duration_seconds,
        {{ round_float('duration_seconds / 60.0', 1) }} as duration_minutes,
        calories_kcal,
        distance_meters,
        steps,
        average_heart_rate_bpm,
        source_system
    from sessions

)

select * from final

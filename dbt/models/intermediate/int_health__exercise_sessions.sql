-- Exercise sessions from every health source, one row per session. The same workout recorded by two sources
-- overlaps in time (ids differ between sources), so a session is dropped when a better-ranked source has a
-- session overlapping it (source_rank: 1 Google Health API, 2 Takeout export). Each source's staging model
-- selects the canonical columns; add a new source's model to the list.
{%- set columns = [
    'exercise_id', 'start_at_utc', 'end_at_utc', 'start_at_local', 'end_at_local', 'utc_offset_minutes',
    'activity_date', 'exercise_type', 'display_name', 'duration_seconds', 'calories_kcal', 'distance_meters',
    'steps', 'average_heart_rate_bpm', 'source_system', 'source_rank',
] %}
with

unioned as (

    {{ union_health_sources([
        'stg_google_health__exercise_sessions',
        'stg_fitbit_export__exercise_sessions',
    ], columns) }}

),

-- sessions a better-ranked source also recorded (overlapping intervals)
superseded as (

    {{ overlapped_by_better_source('unioned', 'exercise_id') }}

),

final as (

    select
        {{ surrogate_key(['unioned.source_system', 'unioned.exercise_id']) }} as exercise_session_id,
        unioned.exercise_id,
        unioned.start_at_utc,
        unioned.end_at_utc,
        unioned.start_at_local,
        unioned.end_at_local,
        unioned.utc_offset_minutes,
        unioned.activity_date,
        unioned.exercise_type,
        unioned.display_name,
        unioned.duration_seconds,
        unioned.calories_kcal,
        unioned.distance_meters,
        unioned.steps,
        unioned.average_heart_rate_bpm,
        unioned.source_system,
        unioned.source_rank
    from unioned
    left join superseded
        on
            unioned.source_system = superseded.source_system
            and unioned.exercise_id = superseded.exercise_id
    where superseded.exercise_id is null

)

select * from final

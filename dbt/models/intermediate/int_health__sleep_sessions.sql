-- Sleep sessions from every health source, one row per session. The same night recorded by two sources overlaps in
-- time (ids differ between sources), so a session is dropped when a better-ranked source has a session overlapping
-- it (source_rank: 1 Google Health API, 2 Takeout export, 3 legacy). Each source's staging model selects the
-- canonical columns (extended with sleep_type, efficiency, minutes_awake, minutes_to_fall_asleep: null where a
-- source lacks them); add a new source's model to the list.
{%- set columns = [
    'sleep_id', 'start_at_utc', 'end_at_utc', 'start_at_local', 'end_at_local', 'utc_offset_minutes', 'sleep_date',
    'is_main_sleep', 'sleep_type', 'minutes_asleep', 'minutes_in_bed', 'minutes_awake', 'minutes_to_fall_asleep',
    'efficiency', 'deep_minutes', 'light_minutes', 'rem_minutes', 'wake_minutes', 'source_system', 'source_rank',
] %}
with

unioned as (

    {{ union_health_sources([
        'stg_google_health__sleep_sessions',
        'stg_fitbit_export__sleep_sessions',
        'stg_fitbit__sleep_sessions',
    ], columns) }}

),

-- sessions a better-ranked source also recorded (overlapping intervals)
superseded as (

    {{ overlapped_by_better_source('unioned', 'sleep_id') }}

),

final as (

    select
        {{ surrogate_key(['unioned.source_system', 'unioned.sleep_id']) }} as sleep_session_id,
        unioned.sleep_id,
        unioned.start_at_utc,
        unioned.end_at_utc,
        unioned.start_at_local,
        unioned.end_at_local,
        unioned.utc_offset_minutes,
        unioned.sleep_date,
        unioned.is_main_sleep,
        unioned.sleep_type,
        unioned.minutes_asleep,
        unioned.minutes_in_bed,
        unioned.minutes_awake,
        unioned.minutes_to_fall_asleep,
        unioned.efficiency,
        unioned.deep_minutes,
        unioned.light_minutes,
        unioned.rem_minutes,
        unioned.wake_minutes,
        unioned.source_system,
        unioned.source_rank
    from unioned
    left join superseded
        on
            unioned.source_system = superseded.source_system
            and unioned.sleep_id = superseded.sleep_id
    where superseded.sleep_id is null

)

select * from final

-- Minutes per activity level per local date from every health source that reports them, one row per date, the
-- best-ranked source first (source_rank: 1 Google Health API, 2 Takeout export). Today only the Takeout export
-- does; the Google Health API's `active-minutes` / `activity-level` types are not loaded yet (their model joins
-- the list when they are). sedentary_minutes is null where the source has none (the export's CSV layout).
{%- set columns = [
    'activity_date', 'very_active_minutes', 'moderately_active_minutes', 'lightly_active_minutes',
    'sedentary_minutes', 'source_system', 'source_rank',
] %}
with

unioned as (

    {{ union_health_sources([
        'stg_fitbit_export__daily_active_minutes',
    ], columns) }}

),

ranked as (

    select
        *,
        row_number() over (partition by activity_date order by source_rank, source_system) as day_rank
    from unioned

),

final as (

    select
        activity_date,
        very_active_minutes,
        moderately_active_minutes,
        lightly_active_minutes,
        sedentary_minutes,
        coalesce(very_active_minutes, 0) + coalesce(moderately_active_minutes, 0) as active_minutes,
        source_system,
        source_rank
    from ranked
    where day_rank = 1

)

select * from final

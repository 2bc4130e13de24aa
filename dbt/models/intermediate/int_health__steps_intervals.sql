-- Step intervals from every health source, one row per interval start. A day is taken whole from the best-ranked
-- source that has steps on it (source_rank: 1 Google Health API, 2 Takeout export, 3 legacy): sources bin steps
-- differently (minutes, API intervals, legacy daily totals), so mixing them within a day would double count it.
-- Each source's staging model selects the canonical columns; add a new source's model to the list.
{%- set columns = [
    'start_at_utc', 'end_at_utc', 'start_at_local', 'utc_offset_minutes', 'activity_date', 'steps',
    'source_system', 'source_rank',
] %}
with

unioned as (

    {{ union_health_sources([
        'stg_google_health__steps_intervals',
        'stg_fitbit_export__steps_intervals',
        'stg_fitbit__steps_intervals',
    ], columns) }}

),

day_sources as (

    select
        activity_date,
        min(source_rank) as best_rank
    from unioned
    group by activity_date

),

ranked as (

    select
        unioned.*,
        row_number() over (
            partition by unioned.start_at_utc order by unioned.source_rank, unioned.source_system
        ) as instant_rank
    from unioned
    inner join day_sources
        on
            unioned.activity_date = day_sources.activity_date
            and unioned.source_rank = day_sources.best_rank

),

final as (

    select
        start_at_utc,
        end_at_utc,
        start_at_local,
        utc_offset_minutes,
        activity_date,
        steps,
        source_system,
        source_rank
    from ranked
    where instant_rank = 1

)

select * from final

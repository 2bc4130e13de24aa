-- Resting heart rate (bpm) per day from every health source, one row per local date, the best-ranked source first
-- (source_rank: 1 Google Health API, 2 Takeout export, 3 legacy). Each source's staging model selects the canonical
-- columns; add a new source's model to the list.
{%- set columns = [
    'metric_date', 'resting_bpm', 'source_system', 'source_rank',
] %}
with

unioned as (

    {{ union_health_sources([
        'stg_google_health__daily_resting_heart_rate',
        'stg_fitbit_export__daily_resting_heart_rate',
        'stg_fitbit__daily_resting_heart_rate',
    ], columns) }}

),

ranked as (

    select
        *,
        row_number() over (partition by metric_date order by source_rank, source_system) as day_rank
    from unioned

),

final as (

    select
        metric_date,
        resting_bpm,
        source_system,
        source_rank
    from ranked
    where day_rank = 1

)

select * from final

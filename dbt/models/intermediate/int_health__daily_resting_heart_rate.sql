-- Resting heart rate (bpm) per day from every health source, one row per local date, the best-ranked source first
-- (source_rank: 1 Google Health API, 2 Takeout export, 3 legacy). One branch per source with the
-- canonical columns; add yours the same way.
with

api_days as (

    select
        metric_date,
        resting_bpm,
        source_system,
        source_rank
    from {{ ref('stg_google_health__daily_resting_heart_rate') }}

),

export_days as (

    select
        metric_date,
        resting_bpm,
        source_system,
        source_rank
    from {{ ref('stg_fitbit_export__daily_resting_heart_rate') }}

),

legacy_days as (

    select
        metric_date,
        resting_bpm,
        source_system,
        source_rank
    from {{ ref('stg_fitbit__daily_resting_heart_rate') }}

),

unioned as (

    select * from api_days
    union all
    select * from export_days
    union all
    select * from legacy_days

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

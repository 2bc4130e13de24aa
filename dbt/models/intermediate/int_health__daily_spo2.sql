-- Nightly average SpO2 (percent) per day from every health source, one row per local date, the best-ranked source first
-- (source_rank: 1 Google Health API, 2 Takeout export, 3 legacy). One branch per source with the
-- canonical columns; add yours the same way.
with

api_days as (

    select
        metric_date,
        spo2_avg_percent,
        source_system,
        source_rank
    from {{ ref('stg_google_health__daily_spo2') }}

),

export_days as (

    select
        metric_date,
        spo2_avg_percent,
        source_system,
        source_rank
    from {{ ref('stg_fitbit_export__daily_spo2') }}

),

unioned as (

    select * from api_days
    union all
    select * from export_days

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
        spo2_avg_percent,
        source_system,
        source_rank
    from ranked
    where day_rank = 1

)

select * from final

-- Energy burned per local date (kcal, BMR included) from every health source that reports it, one row per date,
-- the best-ranked source first. Today only the Takeout export does (per-minute calories summed per local date);
-- the Google Health API serves energy as `total-calories` rollups and `active-energy-burned` /
-- `basal-energy-burned` intervals, which the API source does not load yet: its model joins the list when it does.
with

export_daily as (

    select
        activity_date,
        {{ round_float('sum(calories_kcal)', 2) }} as calories_kcal,
        count(*) as calorie_minutes,
        source_system,
        source_rank
    from {{ ref('stg_fitbit_export__calories') }}
    group by activity_date, source_system, source_rank

),

unioned as (

    select
        activity_date,
        calories_kcal,
        calorie_minutes,
        source_system,
        source_rank
    from export_daily

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
        calories_kcal,
        calorie_minutes,
        source_system,
        source_rank
    from ranked
    where day_rank = 1

)

select * from final

-- Energy burned per local date (kcal, BMR included) from every health source that reports it, one row per date
-- from the best-ranked source that has the day, so a day in both counts once (source_rank: 1 Google Health API
-- for a day it holds whole, 2 Takeout export, 3 the API for a day it holds only part of: macros/
-- google_health_day_rank.sql). What the column means per source:
--   export: the per-minute calories (Fitbit's total, BMR included) summed per local date; calorie_minutes is the
--     minutes with a value (1,440 on a worn day).
--   API: the API splits that total into active energy ("excluding the basal energy burn") and basal energy, so
--     a day's calories are basal + active kcal of the intervals starting on it; calorie_minutes is the minutes
--     the basal intervals span. A day counts only with basal energy: active energy alone is not the day's
--     total.
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

api_days as (

    {{ google_health_day_rank() }}

),

api_basal as (

    select
        activity_date,
        sum(basal_kcal) as basal_kcal
    from {{ ref('stg_google_health__basal_energy_intervals') }}
    group by activity_date

),

api_active as (

    select
        activity_date,
        sum(active_kcal) as active_kcal
    from {{ ref('stg_google_health__active_energy_intervals') }}
    group by activity_date

),

api_daily as (

    select
        api_basal.activity_date,
        {{ round_float('api_basal.basal_kcal + coalesce(api_active.active_kcal, 0)', 2) }} as calories_kcal,
        cast(api_days.basal_minutes as {{ dbt.type_bigint() }}) as calorie_minutes,
        cast('google_health_api' as {{ dbt.type_string() }}) as source_system,
        api_days.source_rank
    from api_basal
    inner join api_days
        on api_basal.activity_date = api_days.activity_date
    left join api_active
        on api_basal.activity_date = api_active.activity_date

),

unioned as (

    select
        activity_date,
        calories_kcal,
        calorie_minutes,
        source_system,
        source_rank
    from api_daily
    union all
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

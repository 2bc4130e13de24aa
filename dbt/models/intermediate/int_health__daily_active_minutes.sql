-- Minutes per activity level per local date from every health source that reports them, one row per date from
-- the best-ranked source that has the day, so a day in both counts once and levels are never mixed across sources
-- within a day (source_rank: 1 Google Health API for a day it holds whole, 2 Takeout export, 3 the API for a day
-- it holds only part of or without basal energy to tell: macros/google_health_day_rank.sql). Per source:
--   export: the JSON layout's daily totals per level (sedentary included), or the CSV layout's active minutes
--     summed (no sedentary).
--   API: the active-minutes intervals starting on the date, summed per level (VIGOROUS = very, MODERATE =
--     moderately, LIGHT = lightly active); the API's active minutes have no sedentary level, so an API day's
--     sedentary_minutes is null.
{%- set columns = [
    'activity_date', 'very_active_minutes', 'moderately_active_minutes', 'lightly_active_minutes',
    'sedentary_minutes', 'source_system', 'source_rank',
] %}
with

api_days as (

    {{ google_health_day_rank() }}

),

api_minutes as (

    select
        activity_date,
        sum(very_active_minutes) as very_active_minutes,
        sum(moderately_active_minutes) as moderately_active_minutes,
        sum(lightly_active_minutes) as lightly_active_minutes
    from {{ ref('stg_google_health__active_minutes_intervals') }}
    group by activity_date

),

api_daily as (

    select
        api_minutes.activity_date,
        cast(api_minutes.very_active_minutes as {{ dbt.type_int() }}) as very_active_minutes,
        cast(api_minutes.moderately_active_minutes as {{ dbt.type_int() }}) as moderately_active_minutes,
        cast(api_minutes.lightly_active_minutes as {{ dbt.type_int() }}) as lightly_active_minutes,
        cast(null as {{ dbt.type_int() }}) as sedentary_minutes,
        cast('google_health_api' as {{ dbt.type_string() }}) as source_system,
        coalesce(api_days.source_rank, 3) as source_rank
    from api_minutes
    left join api_days
        on api_minutes.activity_date = api_days.activity_date

),

unioned as (

    select
        activity_date,
        very_active_minutes,
        moderately_active_minutes,
        lightly_active_minutes,
        sedentary_minutes,
        source_system,
        source_rank
    from api_daily
    union all
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

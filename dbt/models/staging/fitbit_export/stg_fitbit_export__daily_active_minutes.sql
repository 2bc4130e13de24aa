-- one row per local date with minutes per activity level. The JSON layout holds a day's total per level (one
-- row per date and level; a date held by two files counts once, the later file name first); the CSV layout holds
-- one row per active minute and level (a minute held by two files counts once) and has no sedentary minutes.
-- A date with both (a mixed export) takes the JSON totals.
with

source as (

    {{ source_if_exists('fitbit_export', 'fitbit_export__active_minutes', {
        'activity_date': 'date',
        'level': dbt.type_string(),
        'minutes': dbt.type_bigint(),
        'start_at_utc': type_timestamp_utc(),
        'source_file': dbt.type_string(),
    }) }}

),

daily_totals as (

    select
        activity_date,
        level,
        minutes,
        row_number() over (partition by activity_date, level order by source_file desc) as file_rank
    from source
    where start_at_utc is null

),

minute_rows as (

    select
        activity_date,
        level,
        minutes,
        row_number() over (partition by start_at_utc, level order by source_file desc) as file_rank
    from source
    where start_at_utc is not null

),

from_totals as (

    select
        activity_date,
        sum(case when level = 'very' then minutes end) as very_active_minutes,
        sum(case when level = 'moderate' then minutes end) as moderately_active_minutes,
        sum(case when level = 'light' then minutes end) as lightly_active_minutes,
        sum(case when level = 'sedentary' then minutes end) as sedentary_minutes
    from daily_totals
    where file_rank = 1
    group by activity_date

),

from_minutes as (

    select
        activity_date,
        sum(case when level = 'very' then minutes else 0 end) as very_active_minutes,
        sum(case when level = 'moderate' then minutes else 0 end) as moderately_active_minutes,
        sum(case when level = 'light' then minutes else 0 end) as lightly_active_minutes,
        cast(null as {{ dbt.type_bigint() }}) as sedentary_minutes
    from minute_rows
    where file_rank = 1
    group by activity_date

),

unioned as (

    select * from from_totals
    union all
    select from_minutes.*
    from from_minutes
    left join from_totals
        on from_minutes.activity_date = from_totals.activity_date
    where from_totals.activity_date is null

),

renamed as (

    select
        -- dates
        cast(activity_date as date) as activity_date,

        -- numerics (minutes)
        cast(very_active_minutes as {{ dbt.type_int() }}) as very_active_minutes,
        cast(moderately_active_minutes as {{ dbt.type_int() }}) as moderately_active_minutes,
        cast(lightly_active_minutes as {{ dbt.type_int() }}) as lightly_active_minutes,
        cast(sedentary_minutes as {{ dbt.type_int() }}) as sedentary_minutes,

        -- lineage
        cast('takeout_export' as {{ dbt.type_string() }}) as source_system,
        2 as source_rank

    from unioned

)

select * from renamed

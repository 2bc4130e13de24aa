with

habits as (

    select * from {{ ref('dim_habit') }}
    where first_seen_date is not null

),

checks as (

    select * from {{ ref('int_habit_checks_unpivoted') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

as_of as (

    select {{ as_of_date(ref('int_habit_checks_unpivoted'), 'habit_date') }} as as_of_date

),

checks_in_periods as (

    select
        checks.habit_id,
        case checks.frequency
            when 'weekly' then dates.week_start_date
            when 'monthly' then dates.month_start_date
            else dates.date_day
        end as period_start_date,
        checks.page_id,
        checks.is_checked,
        checks.last_edited_at
    from checks
    inner join dates
        on checks.habit_date = dates.date_day

),

-- a day logged on two pages counts once: done if either page says so
period_checks as (

    select
        habit_id,
        period_start_date,
        max(case when is_checked then 1 else 0 end) = 1 as is_completed,
        max(page_id) as page_id,
        max(last_edited_at) as last_edited_at,
        count(*) as page_count
    from checks_in_periods
    group by habit_id, period_start_date

),

periods as (

    select distinct
        'daily' as frequency,
        date_day as period_start_date,
        date_day as period_end_date
    from dates
    union all
    select distinct
        'weekly' as frequency,
        week_start_date as period_start_date,
        {{ add_days('week_start_date', 6) }} as period_end_date
    from dates
    union all
    select distinct
        'monthly' as frequency,
        month_start_date as period_start_date,
        month_end_date as period_end_date
    from dates

),

-- every period from the habit's first completion to today, logged or not
habit_periods as (

    select
        habits.habit_id,
        habits.frequency,
        periods.period_start_date,
        periods.period_end_date
    from habits
    inner join periods
        on habits.frequency = periods.frequency
    cross join as_of
    where
        periods.period_end_date >= habits.first_seen_date
        and periods.period_start_date <= as_of.as_of_date

),

final as (

    select
        {{ surrogate_key(['habit_periods.habit_id', 'habit_periods.period_start_date']) }} as habit_log_id,
        habit_periods.habit_id,
        habit_periods.frequency,
        habit_periods.period_start_date,
        habit_periods.period_end_date,
        period_checks.page_id is not null as is_logged,
        coalesce(period_checks.is_completed, false) as is_completed,
        coalesce(period_checks.page_count, 0) as page_count,
        period_checks.page_id,
        period_checks.last_edited_at
    from habit_periods
    left join period_checks
        on
            habit_periods.habit_id = period_checks.habit_id
            and habit_periods.period_start_date = period_checks.period_start_date

)

select * from final

with

logs as (

    select * from {{ ref('fct_habit_logs') }}

),

habits as (

    select * from {{ ref('dim_habit') }}

),

as_of as (

    select {{ as_of_date(ref('int_habit_checks_unpivoted'), 'habit_date') }} as as_of_date

),

numbered as (

    select
        habit_id,
        period_start_date,
        period_end_date,
        is_completed,
        row_number() over (partition by habit_id order by period_start_date) as period_number,
        row_number() over (
            partition by habit_id, is_completed order by period_start_date
        ) as run_number
    from logs

),

-- gaps and islands: consecutive completed periods share period_number - run_number
streaks as (

    select
        habit_id,
        period_number - run_number as streak_group,
        count(*) as streak_length,
        max(period_number) as last_period_number
    from numbered
    where is_completed
    group by habit_id, period_number - run_number

),

latest_period as (

    select
        habit_id,
        max(period_number) as last_period_number
    from numbered
    group by habit_id

),

-- the latest period may still be in progress: an unchecked latest period does not end the streak yet
current_streaks as (

    select
        latest_period.habit_id,
        coalesce(max(streaks.streak_length), 0) as current_streak
    from latest_period
    left join streaks
        on
            latest_period.habit_id = streaks.habit_id
            and streaks.last_period_number >= latest_period.last_period_number - 1
    group by latest_period.habit_id

),

longest_streaks as (

    select
        habit_id,
        max(streak_length) as longest_streak
    from streaks
    group by habit_id

),

rates as (

    select
        logs.habit_id,
        avg(case
            when logs.period_end_date > {{ add_days('as_of.as_of_date', -7) }}
                then case when logs.is_completed then 1.0 else 0.0 end
        end) as completion_rate_7d,
        avg(case
            when logs.period_end_date > {{ add_days('as_of.as_of_date', -30) }}
                then case when logs.is_completed then 1.0 else 0.0 end
        end) as completion_rate_30d,
        avg(case
            when logs.period_end_date > {{ add_days('as_of.as_of_date', -90) }}
                then case when logs.is_completed then 1.0 else 0.0 end
        end) as completion_rate_90d,
        avg(case when logs.is_completed then 1.0 else 0.0 end) as completion_rate_all_time,
        sum(case when logs.is_completed then 1 else 0 end) as completed_periods,
        count(*) as tracked_periods
    from logs
    cross join as_of
    group by logs.habit_id

),

final as (

    select
        habits.habit_id,
        habits.habit_name,
        habits.frequency,
        habits.category,
        habits.is_active,
        rates.tracked_periods,
        rates.completed_periods,
        {{ round_float('rates.completion_rate_7d', 3) }} as completion_rate_7d,
        {{ round_float('rates.completion_rate_30d', 3) }} as completion_rate_30d,
        {{ round_float('rates.completion_rate_90d', 3) }} as completion_rate_90d,
        {{ round_float('rates.completion_rate_all_time', 3) }} as completion_rate_all_time,
        current_streaks.current_streak,
        coalesce(longest_streaks.longest_streak, 0) as longest_streak
    from habits
    inner join rates
        on habits.habit_id = rates.habit_id
    inner join current_streaks
        on habits.habit_id = current_streaks.habit_id
    left join longest_streaks
        on habits.habit_id = longest_streaks.habit_id

)

select * from final

with

dates as (

    select * from {{ ref('dim_date') }}

),

sleep as (

    select * from {{ ref('fct_sleep_sessions') }}

),

activity as (

    select * from {{ ref('fct_daily_activity') }}

),

heart_rate as (

    select * from {{ ref('fct_heart_rate_daily') }}

),

weigh_ins as (

    select * from {{ ref('int_health__weight') }}

),

hrv as (

    select * from {{ ref('int_health__daily_hrv') }}

),

spo2 as (

    select * from {{ ref('int_health__daily_spo2') }}

),

calories as (

    select * from {{ ref('int_health__daily_calories') }}

),

active_minutes as (

    select * from {{ ref('int_health__daily_active_minutes') }}

),

sleep_scores as (

    select * from {{ ref('int_health__sleep_scores') }}

),

exercise as (

    select
        activity_date,
        count(*) as exercise_sessions,
        {{ round_float('sum(duration_seconds) / 60.0', 1) }} as exercise_minutes
    from {{ ref('int_health__exercise_sessions') }}
    group by activity_date

),

nightly_sleep as (

    select
        assigned_sleep_date,
        sum(minutes_asleep) as sleep_minutes,
        sum(case when is_main_sleep then minutes_asleep else 0 end) as main_sleep_minutes,
        sum(case when is_main_sleep then 0 else 1 end) as nap_count
    from sleep
    group by assigned_sleep_date

),

-- the last weigh-in of the (local) day when there were several
daily_weight as (

    select
        measured_date,
        weight_kg
    from (
        select
            measured_date,
            weight_kg,
            row_number() over (partition by measured_date order by measured_at_utc desc) as weigh_in_rank
        from weigh_ins
    ) as ranked
    where weigh_in_rank = 1

),

span as (

    select
        min(d) as first_date,
        max(d) as last_date
    from (
        select assigned_sleep_date as d from nightly_sleep
        union all
        select activity_date from activity
        union all
        select heart_rate_date from heart_rate
        union all
        select measured_date from daily_weight
        union all
        select metric_date from hrv
        union all
        select metric_date from spo2
        union all
        select activity_date from calories
        union all
        select activity_date from active_minutes
        union all
        select activity_date from exercise
    ) as all_dates

),

final as (

    select
        dates.date_day,
        dates.is_weekend,
        nightly_sleep.sleep_minutes,
        {{ round_float('nightly_sleep.sleep_minutes / 60.0', 2) }} as sleep_hours,
        nightly_sleep.main_sleep_minutes,
        coalesce(nightly_sleep.nap_count, 0) as nap_count,
        activity.steps,
        heart_rate.resting_heart_rate,
        daily_weight.weight_kg,
        hrv.rmssd_ms as hrv_rmssd_ms,
        spo2.spo2_avg_percent,
        sleep_scores.sleep_score,
        calories.calories_kcal,
        active_minutes.active_minutes,
        active_minutes.very_active_minutes,
        active_minutes.moderately_active_minutes,
        active_minutes.lightly_active_minutes,
        active_minutes.sedentary_minutes,
        coalesce(exercise.exercise_sessions, 0) as exercise_sessions,
        exercise.exercise_minutes,
        {{ var('sleep_goal_minutes', 420) }} as sleep_goal_minutes,
        {{ var('steps_goal', 10000) }} as steps_goal,
        coalesce(nightly_sleep.sleep_minutes >= {{ var('sleep_goal_minutes', 420) }}, false) as is_sleep_goal_met,
        coalesce(activity.steps >= {{ var('steps_goal', 10000) }}, false) as is_steps_goal_met
    from dates
    inner join span
        on dates.date_day between span.first_date and span.last_date
    left join nightly_sleep
        on dates.date_day = nightly_sleep.assigned_sleep_date
    left join activity
        on dates.date_day = activity.activity_date
    left join heart_rate
        on dates.date_day = heart_rate.heart_rate_date
    left join daily_weight
        on dates.date_day = daily_weight.measured_date
    left join hrv
        on dates.date_day = hrv.metric_date
    left join spo2
        on dates.date_day = spo2.metric_date
    left join sleep_scores
        on dates.date_day = sleep_scores.sleep_date
    left join calories
        on dates.date_day = calories.activity_date
    left join active_minutes
        on dates.date_day = active_minutes.activity_date
    left join exercise
        on dates.date_day = exercise.activity_date

)

select * from final

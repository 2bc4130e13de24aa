-- the baseline is the median of the first N active days (var baseline_active_days, 14), as the
-- wearable seed defines it; the rolling baseline is the median of the active days among the 28
-- days before each day (at least 7 of them), so it follows the person without counting today
with

activity as (

    select * from {{ ref('fct_daily_activity') }}

),

numbered as (

    select
        activity_date,
        steps,
        is_active_day,
        case
            when is_active_day
                then row_number() over (partition by is_active_day order by activity_date)
        end as active_day_number
    from activity

),

baseline as (

    select {{ median('steps') }} as baseline_steps
    from numbered
    where active_day_number <= {{ var('baseline_active_days', 14) }}

),

rolling as (

    select
        current_day.activity_date,
        {{ median('prior_day.steps') }} as rolling_28d_baseline_steps,
        count(*) as rolling_window_active_days
    from numbered as current_day
    inner join numbered as prior_day
        on
            current_day.activity_date > prior_day.activity_date
            and {{ add_days('current_day.activity_date', -28) }} <= prior_day.activity_date
            and prior_day.is_active_day
    group by current_day.activity_date

),

final as (

    select
        numbered.activity_date,
        numbered.steps,
        numbered.is_active_day,
        numbered.active_day_number,
        coalesce(numbered.active_day_number <= {{ var('baseline_active_days', 14) }}, false) as is_baseline_window,
        {{ round_float('baseline.baseline_steps', 1) }} as baseline_steps,
        {{ round_float('numbered.steps - baseline.baseline_steps', 1) }} as steps_delta_from_baseline,
        {{ round_float('100.0 * numbered.steps / nullif(baseline.baseline_steps, 0)', 1) }} as steps_pct_of_baseline,
        case
            when rolling.rolling_window_active_days >= 7
                then {{ round_float('rolling.rolling_28d_baseline_steps', 1) }}
        end as rolling_28d_baseline_steps,
        case
            when rolling.rolling_window_active_days >= 7
                then {{ round_float('100.0 * numbered.steps / nullif(rolling.rolling_28d_baseline_steps, 0)', 1) }}
        end as steps_pct_of_rolling_baseline
    from numbered
    cross join baseline
    left join rolling
        on numbered.activity_date = rolling.activity_date

)

select * from final

-- steps per local day, summed from the step intervals of the day's best source (int_health__steps_intervals)
with

intervals as (

    select * from {{ ref('int_health__steps_intervals') }}

),

daily as (

    select
        activity_date,
        sum(steps) as steps,
        count(*) as interval_count,
        max(source_system) as source_system
    from intervals
    group by activity_date

),

final as (

    select
        activity_date,
        steps,
        interval_count,
        coalesce(steps, 0) > 0 as is_active_day,
        steps >= {{ var('steps_goal', 10000) }} as is_steps_goal_met,
        source_system
    from daily

)

select * from final

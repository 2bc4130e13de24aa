with

activity as (

    select * from {{ ref('stg_fitbit__daily_activity') }}

),

final as (

    select
        activity_date,
        steps,
        distance_km,
        calories_out,
        active_minutes,
        coalesce(steps, 0) > 0 as is_active_day,
        steps >= {{ var('steps_goal', 10000) }} as is_steps_goal_met,
        origin
    from activity

)

select * from final

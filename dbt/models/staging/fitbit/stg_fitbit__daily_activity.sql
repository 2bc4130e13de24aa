with

source as (

    select * from {{ source('fitbit', 'fitbit__daily_activity') }}

),

-- one row per day even when the API and the export both loaded it: the latest load wins
latest as (

    select
        *,
        row_number() over (partition by activity_date order by loaded_at desc) as version_rank
    from source

),

renamed as (

    select
        -- dates
        cast(activity_date as date) as activity_date,

        -- text
        origin,

        -- numerics
        steps,
        distance_km,
        calories_out,
        active_minutes

    from latest
    where version_rank = 1

)

select * from renamed

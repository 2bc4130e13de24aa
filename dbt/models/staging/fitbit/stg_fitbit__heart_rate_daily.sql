with

source as (

    select * from {{ source('fitbit', 'fitbit__heart_rate_daily') }}

),

latest as (

    select
        *,
        row_number() over (partition by heart_rate_date order by loaded_at desc) as version_rank
    from source

),

renamed as (

    select
        -- dates
        cast(heart_rate_date as date) as heart_rate_date,

        -- text
        origin,

        -- numerics
        resting_heart_rate

    from latest
    where version_rank = 1

)

select * from renamed

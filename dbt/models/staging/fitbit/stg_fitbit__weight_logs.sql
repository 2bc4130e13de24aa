with

source as (

    select * from {{ source('fitbit', 'fitbit__weight') }}

),

latest as (

    select
        *,
        row_number() over (partition by log_id order by loaded_at desc) as version_rank
    from source

),

renamed as (

    select
        -- ids
        log_id as weight_log_id,

        -- text
        log_source,
        origin,

        -- numerics
        weight_kg,
        bmi,
        fat_pct,

        -- dates and timestamps (local wall-clock)
        cast(weight_date as date) as weight_date,
        measured_at as measured_at_local

    from latest
    where version_rank = 1

)

select * from renamed

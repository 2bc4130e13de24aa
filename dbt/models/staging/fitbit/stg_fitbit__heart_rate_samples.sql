-- millions of rows: no dedupe window here; the loader replaces a day's samples as a whole,
-- so raw already holds one row per timestamp (tested on this model)
with

source as (

    select * from {{ source('fitbit', 'fitbit__heart_rate_intraday') }}

),

renamed as (

    select
        -- timestamps (local wall-clock) and dates
        measured_at as measured_at_local,
        cast(measured_date as date) as measured_date,

        -- numerics
        bpm,
        confidence

    from source

)

select * from renamed

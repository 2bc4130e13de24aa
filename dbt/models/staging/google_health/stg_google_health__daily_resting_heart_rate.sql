-- one row per local date (daily types carry only a date, in the user's time zone).
-- Resting heart rate in whole beats per minute (the API's int64).
with

source as (

    {{ source_if_exists('google_health', 'fitbit__daily_resting_heart_rate', {
        'metric_date': 'date',
        'resting_bpm': dbt.type_bigint(),
    }) }}

),

renamed as (

    select
        -- dates
        cast(metric_date as date) as metric_date,

        -- numerics
        cast(resting_bpm as {{ dbt.type_float() }}) as resting_bpm,

        -- lineage
        cast('google_health_api' as {{ dbt.type_string() }}) as source_system,
        1 as source_rank

    from source

)

select * from renamed

-- one row per local date (daily types carry only a date, in the user's time zone).
-- Nightly RMSSD in milliseconds (averageHeartRateVariabilityMilliseconds).
with

source as (

    {{ source_if_exists('google_health', 'fitbit__daily_hrv', {
        'metric_date': 'date',
        'average_hrv_ms': dbt.type_float(),
    }) }}

),

renamed as (

    select
        -- dates
        cast(metric_date as date) as metric_date,

        -- numerics
        cast(average_hrv_ms as {{ dbt.type_float() }}) as rmssd_ms,

        -- lineage
        cast('google_health_api' as {{ dbt.type_string() }}) as source_system,
        1 as source_rank

    from source

)

select * from renamed

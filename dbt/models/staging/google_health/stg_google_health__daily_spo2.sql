-- one row per local date (daily types carry only a date, in the user's time zone).
-- Nightly average oxygen saturation in percent (averagePercentage).
with

source as (

    {{ source_if_exists('google_health', 'fitbit__daily_spo2', {
        'metric_date': 'date',
        'average_percent': dbt.type_float(),
    }) }}

),

renamed as (

    select
        -- dates
        cast(metric_date as date) as metric_date,

        -- numerics
        cast(average_percent as {{ dbt.type_float() }}) as spo2_avg_percent,

        -- lineage
        cast('google_health_api' as {{ dbt.type_string() }}) as source_system,
        1 as source_rank

    from source

)

select * from renamed

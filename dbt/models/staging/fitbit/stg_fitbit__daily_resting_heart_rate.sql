-- LEGACY resting heart rate per day (raw.fitbit__heart_rate_daily, no longer written); latest load per day
with

source as (

    {{ source_if_exists('fitbit', 'fitbit__heart_rate_daily', {
        'heart_rate_date': 'date',
        'resting_heart_rate': dbt.type_float(),
        'origin': dbt.type_string(),
        'loaded_at': type_timestamp_utc(),
    }) }}

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
        cast(heart_rate_date as date) as metric_date,

        -- numerics
        cast(resting_heart_rate as {{ dbt.type_float() }}) as resting_bpm,

        -- lineage
        cast('fitbit__heart_rate_daily' as {{ dbt.type_string() }}) as source_file,
        cast(
            case when origin = 'api' then 'fitbit_web_api_legacy' else 'takeout_export_legacy' end
            as {{ dbt.type_string() }}
        ) as source_system,
        3 as source_rank

    from latest
    where version_rank = 1 and resting_heart_rate > 0

)

select * from renamed

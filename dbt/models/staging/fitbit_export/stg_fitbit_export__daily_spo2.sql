-- one row per local date: a day held by two files (overlapping exports, JSON and CSV twins) counts once,
-- the later file name first
with

source as (

    {{ source_if_exists('fitbit_export', 'fitbit_export__spo2', {
        'metric_date': 'date',
        'spo2_avg_percent': dbt.type_float(),
        'spo2_lower_percent': dbt.type_float(),
        'source_file': dbt.type_string(),
    }) }}

),

ranked as (

    select
        *,
        row_number() over (partition by metric_date order by source_file desc) as file_rank
    from source

),

renamed as (

    select
        -- dates
        cast(metric_date as date) as metric_date,

        -- numerics
        cast(spo2_avg_percent as {{ dbt.type_float() }}) as spo2_avg_percent,
        cast(spo2_lower_percent as {{ dbt.type_float() }}) as spo2_lower_percent,

        -- lineage
        source_file,
        cast('takeout_export' as {{ dbt.type_string() }}) as source_system,
        2 as source_rank

    from ranked
    where file_rank = 1

)

select * from renamed

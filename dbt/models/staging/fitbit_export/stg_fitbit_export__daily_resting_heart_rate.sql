-- one row per local date: a day held by two files (overlapping exports, JSON and CSV twins) counts once,
-- the later file name first
with

source as (

    {{ source_if_exists('fitbit_export', 'fitbit_export__resting_heart_rate', {
        'metric_date': 'date',
        'resting_bpm': dbt.type_float(),
        'error_bpm': dbt.type_float(),
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
        cast(resting_bpm as {{ dbt.type_float() }}) as resting_bpm,
        cast(error_bpm as {{ dbt.type_float() }}) as error_bpm,

        -- lineage
        source_file,
        cast('takeout_export' as {{ dbt.type_string() }}) as source_system,
        2 as source_rank

    from ranked
    where file_rank = 1

)

select * from renamed

-- stage segments of the CSV layout (UserSleepStages_*.csv); one row per segment even when two files hold it
with

source as (

    {{ source_if_exists('fitbit_export', 'fitbit_export__sleep_stages', {
        'sleep_id': dbt.type_string(),
        'stage': dbt.type_string(),
        'start_at_utc': type_timestamp_utc(),
        'end_at_utc': type_timestamp_utc(),
        'seconds': dbt.type_bigint(),
        'source_file': dbt.type_string(),
    }) }}

),

ranked as (

    select
        *,
        row_number() over (partition by sleep_id, start_at_utc order by source_file desc) as file_rank
    from source

),

renamed as (

    select
        -- ids
        {{ surrogate_key(['sleep_id', 'start_at_utc']) }} as sleep_stage_id,
        sleep_id,

        -- text
        stage,

        -- timestamps
        cast(start_at_utc as {{ type_timestamp_utc() }}) as start_at_utc,
        cast(end_at_utc as {{ type_timestamp_utc() }}) as end_at_utc,

        -- numerics
        cast(seconds as {{ dbt.type_bigint() }}) as seconds,

        -- lineage
        source_file

    from ranked
    where file_rank = 1

)

select * from renamed

-- one row per sample instant of one recorder per local day: the same sample can sit in two files (a JSON day
-- file beside its CSV twin where the CSV layout's coverage begins); the later file name wins (the CSV folder
-- sorts after the JSON one). A day keeps the recorder with the most samples (macros/top_recorder_of_day.sql):
-- two devices' samples would blend into one day's average and count its minutes and samples twice
with

source as (

    {{ source_if_exists('fitbit_export', 'fitbit_export__heart_rate', {
        'sample_at_utc': type_timestamp_utc(),
        'sample_at_local': type_timestamp_local(),
        'utc_offset_minutes': dbt.type_bigint(),
        'sample_date': 'date',
        'bpm': dbt.type_bigint(),
        'confidence': dbt.type_bigint(),
        'data_source': dbt.type_string(),
        'source_file': dbt.type_string(),
    }, added_later=['data_source']) }}

),

ranked as (

    select
        *,
        row_number() over (partition by sample_at_utc, data_source order by source_file desc) as file_rank
    from source

),

deduplicated as (

    select * from ranked
    where file_rank = 1

),

day_recorder as (

    {{ top_recorder_of_day('deduplicated', 'sample_date', 'count(*)') }}

),

renamed as (

    select
        -- timestamps and dates
        cast(sample_at_utc as {{ type_timestamp_utc() }}) as sample_at_utc,
        sample_at_local,
        cast(utc_offset_minutes as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(sample_date as date) as sample_date,

        -- numerics
        cast(bpm as {{ dbt.type_int() }}) as bpm,
        cast(confidence as {{ dbt.type_int() }}) as confidence,

        -- lineage
        data_source,
        source_file,
        cast('takeout_export' as {{ dbt.type_string() }}) as source_system,
        2 as source_rank

    from day_recorder

)

select * from renamed

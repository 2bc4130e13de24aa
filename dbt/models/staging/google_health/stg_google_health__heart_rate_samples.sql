-- one row per sample instant: the pipeline replaces each re-read window whole and the reconciled stream has one
-- point per instant, so raw already holds one row per instant (millions of rows: no dedupe window here;
-- its one_row_per_instant test proves it, on the months fct_heart_rate_daily recomputed)
with

source as (

    {{ source_if_exists('google_health', 'fitbit__heart_rate_samples', {
        'sample_at_utc': type_timestamp_utc(),
        'sample_at_local': type_timestamp_local(),
        'utc_offset_seconds': dbt.type_bigint(),
        'bpm': dbt.type_bigint(),
    }) }}

),

renamed as (

    select
        -- timestamps and dates
        cast(sample_at_utc as {{ type_timestamp_utc() }}) as sample_at_utc,
        cast(sample_at_local as {{ type_timestamp_local() }}) as sample_at_local,
        cast(utc_offset_seconds / 60 as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(sample_at_local as date) as sample_date,

        -- numerics
        cast(bpm as {{ dbt.type_int() }}) as bpm,

        -- lineage
        cast('google_health_api' as {{ dbt.type_string() }}) as source_system,
        1 as source_rank

    from source

)

select * from renamed

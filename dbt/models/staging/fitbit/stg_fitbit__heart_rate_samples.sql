-- LEGACY rows (raw.fitbit__heart_rate_intraday, written by older versions of both Fitbit pipelines, no longer
-- written): wall-clock stamps only, so the instant is derived in var health_timezone (default UTC) and the
-- offset is unknown. Lowest precedence in int_health__heart_rate_samples. Absent table: no rows.
with

source as (

    {{ source_if_exists('fitbit', 'fitbit__heart_rate_intraday', {
        'measured_at': type_timestamp_local(),
        'measured_date': 'date',
        'bpm': dbt.type_bigint(),
        'confidence': dbt.type_bigint(),
    }) }}

),

renamed as (

    select
        -- timestamps and dates (the instant derived from local wall time)
        cast({{ local_to_utc('measured_at', legacy_health_timezone()) }} as {{ type_timestamp_utc() }})
            as sample_at_utc,
        measured_at as sample_at_local,
        cast(null as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(measured_date as date) as sample_date,

        -- numerics
        cast(bpm as {{ dbt.type_int() }}) as bpm,
        cast(confidence as {{ dbt.type_int() }}) as confidence,

        -- lineage
        cast('fitbit__heart_rate_intraday' as {{ dbt.type_string() }}) as source_file,
        cast('takeout_export_legacy' as {{ dbt.type_string() }}) as source_system,
        3 as source_rank

    from source

)

select * from renamed

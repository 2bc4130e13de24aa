{#- The body of stg_fitbit_export__heart_rate_samples: one row per sample instant of one recorder per local day
    (see the model). `utc_filter` (a condition on sample_at_utc, in_utc_span) is applied to the raw rows *before*
    the de-dup and recorder windows: fct_heart_rate_daily's incremental build passes the span of the months it
    recomputes (heart_rate_samples_ctes), because a filter above the view cannot reach below its windows (the
    recorder's are partitioned by the day, not the instant), so every build ranked all history (a year: 10.6 s
    against 0.7 s for one month). The span holds whole local days; days cut at its edges come out too and the
    caller filters them by date. `record_optional`: false where a model other than the staging one calls it (the
    model's own meta lists its optional raw tables). -#}
{% macro stg_fitbit_export__heart_rate_samples_sql(utc_filter='1 = 1', record_optional=true) -%}
with

source as (

    select * from (
        {{ source_if_exists('fitbit_export', 'fitbit_export__heart_rate', {
        'sample_at_utc': type_timestamp_utc(),
        'sample_at_local': type_timestamp_local(),
        'utc_offset_minutes': dbt.type_bigint(),
        'sample_date': 'date',
        'bpm': dbt.type_bigint(),
        'confidence': dbt.type_bigint(),
        'data_source': dbt.type_string(),
        'source_file': dbt.type_string(),
    }, added_later=['data_source'], record_optional=record_optional) }}
    ) as raw_rows
    where {{ utc_filter }}

),

{{ export_top_recorder_rows('source', 'sample_at_utc', 'sample_date', 'count(*)') }},

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
{%- endmacro %}

-- per local day, from the samples of the day's best source (int_health__heart_rate_samples' macro, given the UTC
-- span of the months recomputed so that its de-dup windows rank only those months, not all history);
-- heart-rate zones as a share of max heart rate (Fitbit's defaults: fat burn from 50 %, cardio
-- from 70 %, peak from 85 %); samples are irregular, so a minute counts once, by its mean bpm.
-- Incremental (macros/incremental_by_load.sql): a build recomputes the months holding a day that raw rows
-- loaded since the last build touched (by dlt load id, so a re-imported old file counts), replacing those
-- months' partitions on BigQuery (insert_overwrite) and those days elsewhere (delete+insert); it records those months
-- (macros/recomputed_months.sql) for the tests of the sample views, which check them and not all history.
{%- set changed_sources = heart_rate_daily_changed_sources() %}
{%- set optional_tables = [] %}
{%- for source_name, table_name, _ in changed_sources %}
    {%- do optional_tables.append(source_name ~ '.' ~ table_name) %}
{%- endfor %}
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    meta={'optional_source_tables': optional_tables},
    post_hook=[
        "{{ save_recomputed_months(heart_rate_daily_changed_sources(), source('fitbit_export', 'fitbit_export__heart_rate')) }}",
        "{{ save_load_watermark(source('fitbit_export', 'fitbit_export__heart_rate')) }}",
    ],
    **incremental_by_month_config('heart_rate_date'),
) }}
{%- for source_name, table_name, _ in changed_sources %}
-- depends on {{ source(source_name, table_name) }}
{%- endfor %}
{#- none on a full build; else the months to recompute, as literals (BigQuery prunes partitions on constants) #}
{%- set raw_heart_rate = source('fitbit_export', 'fitbit_export__heart_rate') %}
{%- set months = changed_months(changed_sources, load_id_cutoff(raw_heart_rate)) %}
-- depends on {{ ref('int_health__heart_rate_samples') }} (the same rows: its macro, filtered before its windows)
with

{{ heart_rate_samples_ctes(in_utc_span('sample_at_utc', months)) }},

samples as (

    select * from best_source_samples
    where {{ in_months('sample_date', months) }}

),

resting as (

    select * from {{ ref('int_health__daily_resting_heart_rate') }}
    where {{ in_months('metric_date', months) }}

),

daily_samples as (

    select
        sample_date,
        min(bpm) as min_bpm,
        {{ round_float('avg(bpm)', 1) }} as avg_bpm,
        max(bpm) as max_bpm,
        count(*) as sample_count
    from samples
    group by sample_date

),

stamped as (

    select
        sample_date,
        bpm,
        cast({{ dbt.date_trunc('minute', 'sample_at_local') }} as {{ dbt.type_timestamp() }}) as minute_start
    from samples

),

minutes as (

    select
        sample_date,
        minute_start,
        avg(bpm) as minute_bpm
    from stamped
    group by sample_date, minute_start

),

zones as (

    select
        sample_date,
        sum(case when minute_bpm < 0.5 * {{ var('max_heart_rate', 190) }} then 1 else 0 end) as out_of_range_minutes,
        sum(case
            when
                minute_bpm >= 0.5 * {{ var('max_heart_rate', 190) }}
                and minute_bpm < 0.7 * {{ var('max_heart_rate', 190) }}
                then 1
            else 0
        end) as fat_burn_minutes,
        sum(case
            when
                minute_bpm >= 0.7 * {{ var('max_heart_rate', 190) }}
                and minute_bpm < 0.85 * {{ var('max_heart_rate', 190) }}
                then 1
            else 0
        end) as cardio_minutes,
        sum(case when minute_bpm >= 0.85 * {{ var('max_heart_rate', 190) }} then 1 else 0 end) as peak_minutes,
        count(*) as measured_minutes
    from minutes
    group by sample_date

),

days as (

    select sample_date as heart_rate_date from daily_samples
    union distinct
    select metric_date from resting

),

final as (

    select
        days.heart_rate_date,
        resting.resting_bpm as resting_heart_rate,
        daily_samples.min_bpm,
        daily_samples.avg_bpm,
        daily_samples.max_bpm,
        coalesce(daily_samples.sample_count, 0) as sample_count,
        coalesce(zones.measured_minutes, 0) as measured_minutes,
        coalesce(zones.out_of_range_minutes, 0) as out_of_range_minutes,
        coalesce(zones.fat_burn_minutes, 0) as fat_burn_minutes,
        coalesce(zones.cardio_minutes, 0) as cardio_minutes,
        coalesce(zones.peak_minutes, 0) as peak_minutes
    from days
    left join resting
        on days.heart_rate_date = resting.metric_date
    left join daily_samples
        on days.heart_rate_date = daily_samples.sample_date
    left join zones
        on days.heart_rate_date = zones.sample_date

)

select * from final

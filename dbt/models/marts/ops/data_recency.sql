{#- No ref/source: the tables come from the sources YAML at run time (macro data_recency_latest_records), so
    a source that was never loaded is simply not listed, and the model builds on any subset of sources. -#}
with

latest_records as (

    {{ data_recency_latest_records() }}

),

checked as (

    select {{ ops_now() }} as checked_at

),

ages as (

    select
        latest_records.source_name,
        latest_records.table_name,
        latest_records.latest_record_at,
        latest_records.warn_after_hours,
        {{ round_float(
            dbt.datediff('latest_records.latest_record_at', 'checked.checked_at', 'minute') ~ ' / 60.0', 1
        ) }} as hours_since_latest_record
    from latest_records
    cross join checked

),

final as (

    select
        source_name,
        table_name,
        case
            when latest_record_at is null then 'no_records'
            when hours_since_latest_record >= warn_after_hours then 'warn'
            else 'recent'
        end as recency_status,
        latest_record_at,
        hours_since_latest_record,
        warn_after_hours
    from ages

)

select * from final

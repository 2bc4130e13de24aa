with

runs as (

    select * from {{ ref('stg_ops__pipeline_runs') }}

),

final as (

    select
        -- ids
        run_id,
        source_name,

        -- text
        status,
        run_mode,
        mode_reason,
        failed_step,
        error_summary,
        rows_per_table,

        -- numerics
        total_rows,
        api_requests,
        api_retries,
        {{ round_float(dbt.datediff('started_at', 'finished_at', 'millisecond') ~ ' / 1000.0', 3) }}
            as duration_seconds,

        -- timestamps
        started_at,
        finished_at

    from runs

)

select * from final

with

runs as (

    select * from {{ ref('stg_ops__pipeline_runs') }}

),

checked as (

    select {{ ops_now() }} as checked_at

),

ranked as (

    -- a running or crashed run has no finished_at: it is placed by its start
    select
        source_name,
        run_id,
        status,
        run_mode,
        started_at,
        finished_at,
        total_rows,
        rows_per_table,
        api_requests,
        error_summary,
        coalesce(finished_at, started_at) as run_at,
        row_number() over (partition by source_name order by coalesce(finished_at, started_at) desc) as run_rank,
        row_number() over (
            partition by source_name, status order by coalesce(finished_at, started_at) desc
        ) as status_rank
    from runs

),

latest_runs as (

    select * from ranked
    where run_rank = 1

),

latest_successes as (

    select * from ranked
    where
        status = 'success'
        and status_rank = 1

),

failures_since_success as (

    select
        ranked.source_name,
        count(*) as failed_runs
    from ranked
    left join latest_successes
        on ranked.source_name = latest_successes.source_name
    where
        -- a crashed run (killed, found dead by the next run) failed too; a running one has no outcome yet
        ranked.status in ('failed', 'crashed')
        and (
            latest_successes.finished_at is null
            or ranked.run_at > latest_successes.finished_at
        )
    group by ranked.source_name

),

ages as (

    select
        latest_runs.source_name,
        latest_runs.run_id as last_run_id,
        latest_runs.status as last_run_status,
        latest_runs.started_at as last_run_started_at,
        latest_runs.finished_at as last_run_finished_at,
        latest_runs.error_summary as last_run_error,
        latest_successes.run_id as last_success_run_id,
        latest_successes.run_mode as last_success_mode,
        latest_successes.finished_at as last_success_at,
        latest_successes.total_rows as last_success_rows,
        latest_successes.rows_per_table as last_success_rows_per_table,
        latest_successes.api_requests as last_success_api_requests,
        coalesce(failures_since_success.failed_runs, 0) as failed_runs_since_success,
        {{ round_float(dbt.datediff('latest_successes.finished_at', 'checked.checked_at', 'minute') ~ ' / 60.0', 1) }}
            as hours_since_success,
        {{ freshness_hours('latest_runs.source_name', 'warn_after') }} as warn_after_hours,
        {{ freshness_hours('latest_runs.source_name', 'error_after') }} as error_after_hours
    from latest_runs
    cross join checked
    left join latest_successes
        on latest_runs.source_name = latest_successes.source_name
    left join failures_since_success
        on latest_runs.source_name = failures_since_success.source_name

),

final as (

    select
        source_name,
        case
            when last_success_run_id is null then 'never_succeeded'
            when hours_since_success >= error_after_hours then 'stale'
            when hours_since_success >= warn_after_hours then 'warn'
            else 'fresh'
        end as freshness_status,
        last_success_at,
        hours_since_success,
        last_success_rows,
        last_success_rows_per_table,
        last_success_api_requests,
        last_success_mode,
        last_success_run_id,
        last_run_status,
        last_run_started_at,
        last_run_finished_at,
        last_run_error,
        last_run_id,
        failed_runs_since_success,
        warn_after_hours,
        error_after_hours
    from ages

)

select * from final

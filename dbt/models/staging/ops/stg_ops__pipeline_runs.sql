with

source as (

    {{ source_if_exists('ops', 'pipeline_runs', {
        'run_id': dbt.type_string(),
        'source': dbt.type_string(),
        'mode': dbt.type_string(),
        'mode_reason': dbt.type_string(),
        'started_at': dbt.type_timestamp(),
        'finished_at': dbt.type_timestamp(),
        'status': dbt.type_string(),
        'rows_per_table': dbt.type_string(),
        'total_rows': dbt.type_bigint(),
        'api_requests': dbt.type_bigint(),
        'api_retries': dbt.type_bigint(),
        'failed_step': dbt.type_string(),
        'error_summary': dbt.type_string(),
        'destination': dbt.type_string(),
    }) }}

),

renamed as (

    select
        -- ids
        run_id,
        source as source_name,

        -- text
        status,
        mode as run_mode,
        mode_reason,
        rows_per_table,
        failed_step,
        error_summary,
        destination,

        -- numerics
        total_rows,
        api_requests,
        api_retries,

        -- timestamps
        started_at,
        finished_at

    from source

)

select * from renamed

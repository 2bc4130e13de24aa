-- one row per scored sleep log (Sleep Score/sleep_score.csv); the score file is re-exported whole, so a log
-- held by two copies counts once (the later file name first)
with

source as (

    {{ source_if_exists('fitbit_export', 'fitbit_export__sleep_score', {
        'sleep_log_id': dbt.type_bigint(),
        'scored_at_utc': type_timestamp_utc(),
        'overall_score': dbt.type_float(),
        'composition_score': dbt.type_float(),
        'revitalization_score': dbt.type_float(),
        'duration_score': dbt.type_float(),
        'deep_sleep_minutes': dbt.type_float(),
        'resting_heart_rate': dbt.type_float(),
        'restlessness': dbt.type_float(),
        'source_file': dbt.type_string(),
    }) }}

),

ranked as (

    select
        *,
        row_number() over (partition by sleep_log_id order by source_file desc) as file_rank
    from source

),

renamed as (

    select
        -- ids (Fitbit's logId: joins stg_fitbit_export__sleep_sessions.log_id)
        sleep_log_id,

        -- timestamps
        cast(scored_at_utc as {{ type_timestamp_utc() }}) as scored_at_utc,

        -- numerics
        overall_score,
        composition_score,
        revitalization_score,
        duration_score,
        deep_sleep_minutes,
        resting_heart_rate,
        restlessness,

        -- lineage
        source_file

    from ranked
    where file_rank = 1

)

select * from renamed

-- LEGACY daily totals (raw.fitbit__daily_activity, no longer written) as one interval per local day, so they
-- fill days the newer sources lack (int_health__steps_intervals keeps one source per day). When the API and
-- the old export both loaded a day, the latest load wins, as before.
with

source as (

    {{ source_if_exists('fitbit', 'fitbit__daily_activity', {
        'activity_date': 'date',
        'steps': dbt.type_bigint(),
        'origin': dbt.type_string(),
        'loaded_at': type_timestamp_utc(),
    }) }}

),

latest as (

    select
        *,
        row_number() over (partition by activity_date order by loaded_at desc) as version_rank
    from source

),

days as (

    select
        cast(activity_date as date) as activity_date,
        cast(cast(activity_date as date) as {{ type_timestamp_local() }}) as start_at_local,
        cast({{ dbt.dateadd('day', 1, 'cast(activity_date as date)') }} as {{ type_timestamp_local() }})
            as end_at_local,
        steps,
        origin
    from latest
    where version_rank = 1

),

renamed as (

    select
        -- timestamps and dates (instants derived from local midnight in var health_timezone)
        cast({{ local_to_utc('start_at_local', legacy_health_timezone()) }} as {{ type_timestamp_utc() }})
            as start_at_utc,
        cast({{ local_to_utc('end_at_local', legacy_health_timezone()) }} as {{ type_timestamp_utc() }})
            as end_at_utc,
        start_at_local,
        cast(null as {{ dbt.type_int() }}) as utc_offset_minutes,
        activity_date,

        -- numerics
        cast(steps as {{ dbt.type_bigint() }}) as steps,

        -- lineage
        cast('fitbit__daily_activity' as {{ dbt.type_string() }}) as source_file,
        cast(
            case when origin = 'api' then 'fitbit_web_api_legacy' else 'takeout_export_legacy' end
            as {{ dbt.type_string() }}
        ) as source_system,
        3 as source_rank

    from days

)

select * from renamed

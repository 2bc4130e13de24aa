-- LEGACY weigh-ins (raw.fitbit__weight, no longer written): stored as kg without a unit (an lb account's
-- export was stored unconverted, which is why the new import records the unit); local time only, the instant
-- derived in var health_timezone. Latest load per logId.
with

source as (

    {{ source_if_exists('fitbit', 'fitbit__weight', {
        'log_id': dbt.type_bigint(),
        'weight_date': 'date',
        'measured_at': type_timestamp_local(),
        'weight_kg': dbt.type_float(),
        'bmi': dbt.type_float(),
        'fat_pct': dbt.type_float(),
        'log_source': dbt.type_string(),
        'origin': dbt.type_string(),
        'loaded_at': type_timestamp_utc(),
    }) }}

),

latest as (

    select
        *,
        row_number() over (partition by log_id order by loaded_at desc) as version_rank
    from source

),

renamed as (

    select
        -- ids
        log_id,

        -- timestamps and dates
        cast({{ local_to_utc('measured_at', legacy_health_timezone()) }} as {{ type_timestamp_utc() }})
            as measured_at_utc,
        measured_at as measured_at_local,
        cast(null as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(weight_date as date) as measured_date,

        -- numerics
        cast(weight_kg as {{ dbt.type_float() }}) as weight_kg,
        cast(weight_kg as {{ dbt.type_float() }}) as weight_original_value,
        cast('kg' as {{ dbt.type_string() }}) as weight_original_unit,
        cast('assumed (legacy table)' as {{ dbt.type_string() }}) as weight_unit_source,
        cast(fat_pct as {{ dbt.type_float() }}) as body_fat_percent,
        cast(bmi as {{ dbt.type_float() }}) as bmi,

        -- text
        log_source,

        -- lineage
        cast('fitbit__weight' as {{ dbt.type_string() }}) as source_file,
        cast(
            case when origin = 'api' then 'fitbit_web_api_legacy' else 'takeout_export_legacy' end
            as {{ dbt.type_string() }}
        ) as source_system,
        3 as source_rank

    from latest
    where version_rank = 1

)

select * from renamed

-- one row per weigh-in instant, converted to kg with the unit the loader recorded (never assumed: a record
-- whose unit could not be told was rejected by the loader); the original value and unit are kept
with

source as (

    {{ source_if_exists('fitbit_export', 'fitbit_export__weight', {
        'measured_at_utc': type_timestamp_utc(),
        'measured_at_local': type_timestamp_local(),
        'utc_offset_minutes': dbt.type_bigint(),
        'measured_date': 'date',
        'weight_value': dbt.type_float(),
        'weight_unit': dbt.type_string(),
        'weight_unit_source': dbt.type_string(),
        'bmi': dbt.type_float(),
        'body_fat_percent': dbt.type_float(),
        'log_id': dbt.type_bigint(),
        'log_source': dbt.type_string(),
        'source_file': dbt.type_string(),
    }) }}

),

ranked as (

    select
        *,
        row_number() over (partition by measured_at_utc order by source_file desc) as file_rank
    from source

),

renamed as (

    select
        -- ids
        log_id,

        -- timestamps and dates
        cast(measured_at_utc as {{ type_timestamp_utc() }}) as measured_at_utc,
        measured_at_local,
        cast(utc_offset_minutes as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(measured_date as date) as measured_date,

        -- numerics (SI: kg)
        {{ round_float(
            "weight_value * case weight_unit when 'kg' then 1.0 when 'lb' then 0.45359237"
            ~ " when 'st' then 6.35029318 when 'g' then 0.001 end", 3) }} as weight_kg,
        weight_value as weight_original_value,
        weight_unit as weight_original_unit,
        weight_unit_source,
        body_fat_percent,
        bmi,

        -- text
        log_source,

        -- lineage
        source_file,
        cast('takeout_export' as {{ dbt.type_string() }}) as source_system,
        2 as source_rank

    from ranked
    where file_rank = 1

)

select * from renamed

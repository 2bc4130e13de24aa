-- one row per weigh-in instant in kg (the API sends grams: weightGrams), with the body fat measured at the same
-- instant (a smart scale reports both; a body-fat reading without a weigh-in is a row without weight). The API
-- has no BMI.
with

source as (

    {{ source_if_exists('google_health', 'fitbit__weight_points', {
        'weight_id': dbt.type_string(),
        'measured_at_utc': type_timestamp_utc(),
        'measured_at_local': type_timestamp_local(),
        'utc_offset_seconds': dbt.type_bigint(),
        'weight_grams': dbt.type_float(),
    }) }}

),

body_fat as (

    select * from {{ ref('stg_google_health__body_fat') }}

),

weigh_ins as (

    select
        weight_id,
        cast(measured_at_utc as {{ type_timestamp_utc() }}) as measured_at_utc,
        cast(measured_at_local as {{ type_timestamp_local() }}) as measured_at_local,
        cast(utc_offset_seconds / 60 as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(weight_grams as {{ dbt.type_float() }}) as weight_grams
    from source

),

joined as (

    select
        weigh_ins.weight_id,
        coalesce(weigh_ins.measured_at_utc, body_fat.measured_at_utc) as measured_at_utc,
        coalesce(weigh_ins.measured_at_local, body_fat.measured_at_local) as measured_at_local,
        coalesce(weigh_ins.utc_offset_minutes, body_fat.utc_offset_minutes) as utc_offset_minutes,
        weigh_ins.weight_grams,
        body_fat.body_fat_percent
    from weigh_ins
    full outer join body_fat
        on weigh_ins.measured_at_utc = body_fat.measured_at_utc

),

renamed as (

    select
        -- ids
        weight_id,

        -- timestamps and dates
        measured_at_utc,
        cast(measured_at_local as {{ type_timestamp_local() }}) as measured_at_local,
        utc_offset_minutes,
        cast(measured_at_local as date) as measured_date,

        -- numerics (SI: kg; the original grams kept)
        {{ round_float('weight_grams * 0.001', 3) }} as weight_kg,
        weight_grams as weight_original_value,
        cast(case when weight_grams is not null then 'g' end as {{ dbt.type_string() }}) as weight_original_unit,
        body_fat_percent,
        cast(null as {{ dbt.type_float() }}) as bmi,

        -- lineage
        cast('google_health_api' as {{ dbt.type_string() }}) as source_system,
        1 as source_rank

    from joined

)

select * from renamed

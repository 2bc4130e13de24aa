-- one row per body-fat measurement (percent); stg_google_health__weight joins it to the weigh-in of the same
-- instant
with

source as (

    {{ source_if_exists('google_health', 'fitbit__body_fat_points', {
        'body_fat_id': dbt.type_string(),
        'measured_at_utc': type_timestamp_utc(),
        'measured_at_local': type_timestamp_local(),
        'utc_offset_seconds': dbt.type_bigint(),
        'body_fat_percent': dbt.type_float(),
    }) }}

),

renamed as (

    select
        -- ids
        body_fat_id,

        -- timestamps and dates
        cast(measured_at_utc as {{ type_timestamp_utc() }}) as measured_at_utc,
        cast(measured_at_local as {{ type_timestamp_local() }}) as measured_at_local,
        cast(utc_offset_seconds / 60 as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(measured_at_local as date) as measured_date,

        -- numerics (percent)
        cast(body_fat_percent as {{ dbt.type_float() }}) as body_fat_percent

    from source

)

select * from renamed

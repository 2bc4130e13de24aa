-- one row per basal-energy interval start (the reconciled stream): the energy the basal metabolic rate burned
-- over the interval (discovery document, BasalEnergyBurned), kcal as the API sends it, and the interval's minutes.
with

source as (

    {{ source_if_exists('google_health', 'fitbit__basal_energy_intervals', {
        'start_at_utc': type_timestamp_utc(),
        'end_at_utc': type_timestamp_utc(),
        'start_at_local': type_timestamp_local(),
        'start_utc_offset_seconds': dbt.type_bigint(),
        'basal_kcal': dbt.type_float(),
    }) }}

),

renamed as (

    select
        -- timestamps and dates
        cast(start_at_utc as {{ type_timestamp_utc() }}) as start_at_utc,
        cast(end_at_utc as {{ type_timestamp_utc() }}) as end_at_utc,
        cast(start_at_local as {{ type_timestamp_local() }}) as start_at_local,
        cast(start_utc_offset_seconds / 60 as {{ dbt.type_int() }}) as utc_offset_minutes,
        cast(start_at_local as date) as activity_date,

        -- numerics
        cast(basal_kcal as {{ dbt.type_float() }}) as basal_kcal,
        cast({{ dbt.datediff('start_at_utc', 'end_at_utc', 'minute') }} as {{ dbt.type_int() }}) as interval_minutes,

        -- lineage
        cast('google_health_api' as {{ dbt.type_string() }}) as source_system,
        1 as source_rank

    from source

)

select * from renamed

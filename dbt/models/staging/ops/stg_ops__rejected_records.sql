{#- Every source's rejected records that exist (a table appears with a source's first rejection), without the
    payload: personal data stays in raw.<source>__rejected. -#}
with

rejected as (

    {{ union_rejected_tables([
        ['notion', 'notion__rejected'],
        ['hubspot', 'hubspot__rejected'],
        ['google_health', 'fitbit__rejected'],
        ['fitbit_export', 'fitbit_export__rejected'],
    ]) }}

),

renamed as (

    select
        -- ids
        rejected_id,
        source as source_name,
        entity,
        record_key,
        _dlt_load_id as load_id,

        -- text
        reason,
        origin,

        -- timestamps
        cast({{ load_id_timestamp('_dlt_load_id') }} as {{ type_timestamp_utc() }}) as loaded_at

    from rejected

)

select * from renamed

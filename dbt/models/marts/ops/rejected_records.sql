{#- No payload column: the rejected record itself (personal data) stays in raw.<source>__rejected. -#}
with

rejected as (

    select * from {{ ref('stg_ops__rejected_records') }}

),

final as (

    select
        -- ids
        rejected_id,
        source_name,
        entity,
        record_key,
        load_id,

        -- text
        reason,
        origin,

        -- timestamps
        loaded_at

    from rejected

)

select * from final

with

source as (

    {#- dlt creates the nested table only once an engagement with an association has been loaded #}
    {{ source_if_exists('hubspot', 'hubspot__engagements__associations', {
        'engagement_id': dbt.type_string(),
        'to_object_type': dbt.type_string(),
        'to_object_id': dbt.type_string(),
        'association_type_id': dbt.type_bigint(),
        '_dlt_parent_id': dbt.type_string(),
    }) }}

),

engagements as (

    select * from {{ ref('stg_hubspot__engagements') }}

),

renamed as (

    select
        -- ids
        {{ surrogate_key(['source.engagement_id', 'source.to_object_type', 'source.to_object_id']) }}
            as engagement_association_id,
        source.engagement_id,
        source.to_object_id as object_id,

        -- text
        case source.to_object_type when 'contacts' then 'contact' when 'companies' then 'company' end
            as object_type,

        -- numerics
        source.association_type_id

    from source
    -- only the associations of each engagement's latest live version
    inner join engagements
        on source._dlt_parent_id = engagements.raw_row_id

)

select * from renamed

with

source as (

    select * from {{ source('hubspot', 'hubspot__engagements__associations') }}

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

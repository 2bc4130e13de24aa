with

associations as (

    select * from {{ ref('stg_hubspot__engagement_associations') }}

),

engagements as (

    select * from {{ ref('fct_engagements') }}

),

contacts as (

    select * from {{ ref('dim_contacts') }}

),

final as (

    select
        {{ surrogate_key(['associations.engagement_id', 'associations.object_id']) }} as engagement_contact_id,
        associations.engagement_id,
        associations.object_id as contact_id
    from associations
    inner join engagements
        on associations.engagement_id = engagements.engagement_id
    inner join contacts
        on associations.object_id = contacts.contact_id
    where associations.object_type = 'contact'

)

select * from final

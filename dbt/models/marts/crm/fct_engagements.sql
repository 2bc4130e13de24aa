with

engagements as (

    select * from {{ ref('stg_hubspot__engagements') }}

),

associations as (

    select * from {{ ref('stg_hubspot__engagement_associations') }}

),

companies as (

    select * from {{ ref('stg_hubspot__companies') }}

),

contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

primary_company as (

    select
        associations.engagement_id,
        min(associations.object_id) as company_id
    from associations
    inner join companies
        on associations.object_id = companies.company_id
    where associations.object_type = 'company'
    group by associations.engagement_id

),

contact_counts as (

    select
        associations.engagement_id,
        count(*) as contact_count
    from associations
    inner join contacts
        on associations.object_id = contacts.contact_id
    where associations.object_type = 'contact'
    group by associations.engagement_id

),

final as (

    select
        engagements.engagement_id,
        engagements.engagement_type,
        engagements.engagement_at,
        cast(engagements.engagement_at as date) as engagement_date,
        engagements.direction,
        coalesce(engagements.call_duration_seconds, engagements.meeting_duration_seconds) as duration_seconds,
        engagements.status,
        engagements.title,
        engagements.task_priority,
        engagements.owner_id,
        primary_company.company_id,
        coalesce(contact_counts.contact_count, 0) as contact_count,
        -- calls, emails and meetings are conversations; notes and tasks are the person's own bookkeeping
        engagements.engagement_type in ('call', 'email', 'meeting') as is_touch,
        engagements.invalid_reason,
        engagements.created_at,
        engagements.modified_at
    from engagements
    left join primary_company
        on engagements.engagement_id = primary_company.engagement_id
    left join contact_counts
        on engagements.engagement_id = contact_counts.engagement_id

)

select * from final

with

companies as (

    select * from {{ ref('stg_hubspot__companies') }}

),

contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

contact_counts as (

    select
        company_id,
        count(*) as contact_count
    from contacts
    where company_id is not null
    group by company_id

),

final as (

    select
        companies.company_id,
        companies.company_name,
        companies.domain,
        companies.industry,
        companies.city,
        companies.country,
        companies.employee_count,
        coalesce(contact_counts.contact_count, 0) as contact_count,
        companies.created_at,
        companies.modified_at
    from companies
    left join contact_counts
        on companies.company_id = contact_counts.company_id

)

select * from final

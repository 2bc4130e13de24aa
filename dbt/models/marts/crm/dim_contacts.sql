with

contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

companies as (

    select * from {{ ref('stg_hubspot__companies') }}

),

final as (

    select
        contacts.contact_id,
        contacts.full_name,
        contacts.first_name,
        contacts.last_name,
        contacts.email,
        contacts.phone,
        contacts.job_title,
        contacts.lifecycle_stage,
        contacts.is_email_opted_out,
        -- an archived company leaves its contacts without one
        companies.company_id,
        coalesce(companies.company_name, contacts.company_name) as company_name,
        contacts.created_at,
        contacts.modified_at
    from contacts
    left join companies
        on contacts.company_id = companies.company_id

)

select * from final

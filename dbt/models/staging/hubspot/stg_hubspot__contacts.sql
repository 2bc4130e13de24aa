with

source as (

    select * from {{ source('hubspot', 'hubspot__contacts') }}

),

latest as (

    select
        *,
        row_number() over (partition by id order by updated_at desc, _dlt_load_id desc) as version_rank
    from source

),

renamed as (

    select
        -- ids
        id as contact_id,
        associatedcompanyid as company_id,

        -- text
        firstname as first_name,
        lastname as last_name,
        trim(coalesce(firstname, '') || ' ' || coalesce(lastname, '')) as full_name,
        lower(email) as email,
        phone,
        company as company_name,
        jobtitle as job_title,
        lifecyclestage as lifecycle_stage,

        -- flags
        cast(hs_email_optout as {{ dbt.type_boolean() }}) as is_email_opted_out,
        is_deleted,

        -- timestamps: the top-level createdAt/updatedAt (raw created_at/updated_at) when the property is missing
        cast(coalesce(createdate, created_at) as {{ dbt.type_timestamp() }}) as created_at,
        cast(coalesce(lastmodifieddate, updated_at) as {{ dbt.type_timestamp() }}) as modified_at

    from latest
    where version_rank = 1

)

select * from renamed
where not is_deleted

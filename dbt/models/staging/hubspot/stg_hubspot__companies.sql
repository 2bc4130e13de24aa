with

source as (

    select * from {{ source('hubspot', 'hubspot__companies') }}

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
        id as company_id,

        -- text
        name as company_name,
        lower(domain) as domain,
        industry,
        city,
        country,

        -- numerics
        cast(numberofemployees as {{ dbt.type_int() }}) as employee_count,

        -- flags
        is_deleted,

        -- timestamps: the top-level createdAt/updatedAt (raw created_at/updated_at) when the property is missing
        cast(coalesce(createdate, created_at) as {{ dbt.type_timestamp() }}) as created_at,
        cast(coalesce(hs_lastmodifieddate, updated_at) as {{ dbt.type_timestamp() }}) as modified_at

    from latest
    where version_rank = 1

)

select * from renamed
where not is_deleted

with

source as (

    select * from {{ source('notion', 'notion__habit_pages__properties') }}

),

renamed as (

    select
        -- ids
        {{ surrogate_key(['page_id', 'property_id']) }} as page_property_id,
        page_id,
        property_id,
        _dlt_parent_id as raw_page_row_id,

        -- text
        property_name,
        property_type,
        value_text

    from source

)

select * from renamed

with

source as (

    select * from {{ source('notion', 'notion__data_sources__properties') }}

),

renamed as (

    select
        -- ids
        {{ surrogate_key(['data_source_id', 'property_id']) }} as data_source_property_id,
        data_source_id,
        property_id,

        -- text
        property_name,
        property_type

    from source

)

select * from renamed

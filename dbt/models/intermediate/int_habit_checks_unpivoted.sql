with

pages as (

    select * from {{ ref('stg_notion__habit_pages') }}

),

properties as (

    select * from {{ ref('stg_notion__habit_page_properties') }}

),

checks as (

    select
        {{ surrogate_key(['pages.page_id', 'properties.property_id']) }} as habit_check_id,
        {{ surrogate_key(['pages.data_source_id', 'properties.property_id']) }} as habit_id,
        pages.page_id,
        pages.data_source_id,
        properties.property_id,
        properties.property_name as habit_name_on_page,
        pages.frequency,
        pages.habit_date,
        pages.last_edited_at,
        properties.value_text = 'true' as is_checked
    from properties
    inner join pages
        on properties.raw_page_row_id = pages.raw_row_id
    where
        properties.property_type = 'checkbox'
        and pages.habit_date is not null

)

select * from checks

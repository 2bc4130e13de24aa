with

source as (

    select * from {{ source('notion', 'notion__habit_pages') }}

),

latest as (

    select
        *,
        row_number() over (
            partition by page_id order by last_edited_time desc, _dlt_load_id desc
        ) as version_rank
    from source

),

renamed as (

    select
        -- ids
        page_id,
        database_id,
        data_source_id,
        _dlt_id as raw_row_id,

        -- text
        frequency,
        title,

        -- dates and timestamps
        cast(habit_date as date) as habit_date,
        created_time as created_at,
        last_edited_time as last_edited_at,

        -- flags
        is_deleted

    from latest
    where version_rank = 1

)

select * from renamed
where not is_deleted

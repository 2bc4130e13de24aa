with

checks as (

    select * from {{ ref('int_habit_checks_unpivoted') }}

),

schema_properties as (

    select * from {{ ref('stg_notion__data_source_properties') }}

),

categories as (

    select * from {{ ref('habit_categories') }}

),

habit_stats as (

    select
        habit_id,
        data_source_id,
        property_id,
        frequency,
        min(case when is_checked then habit_date end) as first_completed_date,
        max(case when is_checked then habit_date end) as last_completed_date,
        min(habit_date) as first_logged_date,
        max(habit_date) as last_logged_date
    from checks
    group by habit_id, data_source_id, property_id, frequency

),

latest_name_on_page as (

    select
        habit_id,
        habit_name_on_page,
        row_number() over (
            partition by habit_id order by last_edited_at desc, habit_date desc
        ) as name_rank
    from checks

),

named as (

    select
        habit_stats.*,
        coalesce(schema_properties.property_name, latest_name_on_page.habit_name_on_page) as habit_name,
        schema_properties.property_id is not null as is_active
    from habit_stats
    left join schema_properties
        on
            habit_stats.data_source_id = schema_properties.data_source_id
            and habit_stats.property_id = schema_properties.property_id
    left join latest_name_on_page
        on
            habit_stats.habit_id = latest_name_on_page.habit_id
            and latest_name_on_page.name_rank = 1

),

final as (

    select
        named.habit_id,
        named.habit_name,
        named.frequency,
        coalesce(categories.category, 'uncategorised') as category,
        named.first_completed_date as first_seen_date,
        named.last_completed_date,
        named.last_logged_date as last_seen_date,
        named.is_active,
        named.data_source_id,
        named.property_id
    from named
    left join categories
        on named.habit_name = categories.habit_name

)

select * from final

with

contacts as (

    select * from {{ ref('dim_contacts') }}

),

bridge as (

    select * from {{ ref('engagement_contacts') }}

),

engagements as (

    select * from {{ ref('fct_engagements') }}

),

as_of as (

    select {{ as_of_date(ref('fct_engagements'), 'engagement_date') }} as as_of_date

),

touches as (

    select
        bridge.contact_id,
        engagements.engagement_type,
        engagements.engagement_at,
        engagements.engagement_date,
        as_of.as_of_date
    from bridge
    inner join engagements
        on bridge.engagement_id = engagements.engagement_id
    cross join as_of
    where engagements.is_touch and engagements.engagement_date <= as_of.as_of_date

),

per_contact as (

    select
        contact_id,
        min(engagement_at) as first_touch_at,
        max(engagement_at) as last_touch_at,
        max(engagement_date) as last_touch_date,
        count(*) as touches_all_time,
        -- a window of N days ends on the as-of date and includes it
        sum(case when engagement_date > {{ add_days('as_of_date', -30) }} then 1 else 0 end) as touches_30d,
        sum(case when engagement_date > {{ add_days('as_of_date', -90) }} then 1 else 0 end) as touches_90d,
        sum(case when engagement_date > {{ add_days('as_of_date', -365) }} then 1 else 0 end) as touches_365d
    from touches
    group by contact_id

),

channels as (

    select
        contact_id,
        engagement_type,
        count(*) as channel_touches,
        max(engagement_at) as channel_last_touch_at
    from touches
    group by contact_id, engagement_type

),

-- the most used channel; a tie goes to the one used most recently
preferred as (

    select
        contact_id,
        engagement_type as preferred_channel,
        row_number() over (
            partition by contact_id
            order by channel_touches desc, channel_last_touch_at desc, engagement_type asc
        ) as channel_rank
    from channels

),

final as (

    select
        contacts.contact_id,
        contacts.full_name,
        contacts.company_name,
        per_contact.first_touch_at,
        per_contact.last_touch_at,
        cast(
            {{ dbt.datediff('per_contact.last_touch_date', 'as_of.as_of_date', 'day') }} as {{ dbt.type_int() }}
        ) as days_since_last_touch,
        coalesce(per_contact.touches_30d, 0) as touches_30d,
        coalesce(per_contact.touches_90d, 0) as touches_90d,
        coalesce(per_contact.touches_365d, 0) as touches_365d,
        coalesce(per_contact.touches_all_time, 0) as touches_all_time,
        preferred.preferred_channel,
        coalesce(
            {{ dbt.datediff('per_contact.last_touch_date', 'as_of.as_of_date', 'day') }}
            >= {{ var('fading_after_days', 90) }},
            false
        ) as is_fading,
        as_of.as_of_date
    from contacts
    cross join as_of
    left join per_contact
        on contacts.contact_id = per_contact.contact_id
    left join preferred
        on contacts.contact_id = preferred.contact_id and preferred.channel_rank = 1

)

select * from final

with

source as (

    select * from {{ source('hubspot', 'hubspot__engagements') }}

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
        id as engagement_id,
        _dlt_id as raw_row_id,
        hubspot_owner_id as owner_id,

        -- text
        case engagement_type
            when 'calls' then 'call'
            when 'emails' then 'email'
            when 'meetings' then 'meeting'
            when 'notes' then 'note'
            when 'tasks' then 'task'
        end as engagement_type,
        coalesce(hs_call_title, hs_email_subject, hs_meeting_title, hs_task_subject) as title,
        coalesce(hs_call_body, hs_email_text, hs_meeting_body, hs_note_body, hs_task_body) as body,
        case
            when hs_call_direction = 'INBOUND' or hs_email_direction = 'INCOMING_EMAIL' then 'inbound'
            when hs_call_direction = 'OUTBOUND' or hs_email_direction in ('EMAIL', 'FORWARDED_EMAIL') then 'outbound'
        end as direction,
        lower(coalesce(hs_call_status, hs_email_status, hs_meeting_outcome, hs_task_status)) as status,
        hs_task_priority as task_priority,
        invalid_reason,

        -- numerics: calls report milliseconds, meetings a start and an end
        cast(hs_call_duration as {{ dbt.type_float() }}) / 1000 as call_duration_seconds,
        cast({{ dbt.datediff(
            "cast(hs_meeting_start_time as " ~ dbt.type_timestamp() ~ ")",
            "cast(hs_meeting_end_time as " ~ dbt.type_timestamp() ~ ")",
            "second") }} as {{ dbt.type_float() }}) as meeting_duration_seconds,

        -- flags
        is_deleted,

        -- timestamps: meetings may lack hs_timestamp (their start time is their time); the record's
        -- top-level createdAt/updatedAt (raw created_at/updated_at) stand in for missing system dates
        cast(coalesce(hs_timestamp, hs_meeting_start_time) as {{ dbt.type_timestamp() }}) as engagement_at,
        cast(coalesce(hs_createdate, created_at) as {{ dbt.type_timestamp() }}) as created_at,
        cast(coalesce(hs_lastmodifieddate, updated_at) as {{ dbt.type_timestamp() }}) as modified_at

    from latest
    where version_rank = 1

)

select * from renamed
where not is_deleted

-- Fitbit's sleep score per night (local wake-up date), one row per date. Only the Takeout export carries it
-- (Sleep Score/sleep_score.csv; the Google Health API has no sleep score). A score names its sleep by the JSON
-- layout's logId: it joins that session; a CSV-only export has no logIds (its sessions carry Google's
-- sleep_id), so there the score joins the export session that ended within an hour of the score's timestamp
-- (the wake-up instant), nearest first. A night with several scored sleeps keeps the main sleep's score.
with

scores as (

    select * from {{ ref('stg_fitbit_export__sleep_scores') }}

),

sessions as (

    select * from {{ ref('stg_fitbit_export__sleep_sessions') }}

),

matched as (

    select
        scores.sleep_log_id,
        scores.overall_score,
        scores.composition_score,
        scores.revitalization_score,
        scores.duration_score,
        sessions.sleep_date,
        sessions.is_main_sleep,
        row_number() over (
            partition by scores.sleep_log_id
            order by
                case when sessions.log_id = scores.sleep_log_id then 0 else 1 end,
                abs({{ dbt.datediff('scores.scored_at_utc', 'sessions.end_at_utc', 'second') }})
        ) as match_rank
    from scores
    inner join sessions
        on
            scores.sleep_log_id = sessions.log_id
            or (
                sessions.log_id is null
                and abs({{ dbt.datediff('scores.scored_at_utc', 'sessions.end_at_utc', 'minute') }}) <= 60
            )

),

nightly as (

    select
        *,
        row_number() over (
            partition by sleep_date order by case when is_main_sleep then 0 else 1 end, overall_score desc
        ) as night_rank
    from matched
    where match_rank = 1

),

final as (

    select
        sleep_date,
        sleep_log_id,
        overall_score as sleep_score,
        composition_score,
        revitalization_score,
        duration_score,
        cast('takeout_export' as {{ dbt.type_string() }}) as source_system
    from nightly
    where night_rank = 1

)

select * from final

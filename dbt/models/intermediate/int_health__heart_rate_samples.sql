-- Heart-rate samples from every health source, one row per sample instant. Sources are ranked (source_rank: 1
-- Google Health API, 2 Takeout export, 3 legacy tables) and a day is taken whole from the best-ranked source that
-- has samples on it: two sources sample the same wrist at slightly different instants, so mixing them within a day
-- would count the day twice. Each branch below selects the canonical columns of one staging model (one branch per
-- source; add yours with the same columns).
{%- set columns = [
    'sample_at_utc', 'sample_at_local', 'utc_offset_minutes', 'sample_date', 'bpm', 'source_system', 'source_rank',
] %}
with

unioned as (

    {{ union_health_sources([
        'stg_google_health__heart_rate_samples',
        'stg_fitbit_export__heart_rate_samples',
        'stg_fitbit__heart_rate_samples',
    ], columns) }}

),

day_sources as (

    select
        sample_date,
        min(source_rank) as best_rank
    from unioned
    group by sample_date

),

ranked as (

    select
        unioned.*,
        row_number() over (
            partition by unioned.sample_at_utc order by unioned.source_rank, unioned.source_system
        ) as instant_rank
    from unioned
    inner join day_sources
        on
            unioned.sample_date = day_sources.sample_date
            and unioned.source_rank = day_sources.best_rank

),

final as (

    select
        sample_at_utc,
        sample_at_local,
        utc_offset_minutes,
        sample_date,
        bpm,
        source_system,
        source_rank
    from ranked
    where instant_rank = 1

)

select * from final

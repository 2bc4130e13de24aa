-- Weigh-ins from every health source in kg (staging converted with the recorded unit), one row per weigh-in
-- instant, the best-ranked source first (source_rank: 1 Google Health API, 2 Takeout export, 3 legacy). Each
-- source's staging model has the canonical columns; add a new one to the list below.
{%- set columns = [
    'measured_at_utc', 'measured_at_local', 'utc_offset_minutes', 'measured_date', 'weight_kg',
    'weight_original_value', 'weight_original_unit', 'body_fat_percent', 'bmi', 'source_system', 'source_rank',
] %}
with

unioned as (

    {{ union_health_sources([
        'stg_google_health__weight',
        'stg_fitbit_export__weight',
        'stg_fitbit__weight',
    ], columns) }}

),

ranked as (

    select
        *,
        row_number() over (partition by measured_at_utc order by source_rank, source_system) as instant_rank
    from unioned

),

final as (

    select
        measured_at_utc,
        measured_at_local,
        utc_offset_minutes,
        measured_date,
        weight_kg,
        weight_original_value,
        weight_original_unit,
        body_fat_percent,
        bmi,
        source_system,
        source_rank
    from ranked
    where instant_rank = 1

)

select * from final

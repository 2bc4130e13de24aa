{#- The rank of each local date the Google Health API has energy or activity for: 1 (before the Takeout export's 2)
    when the day is whole in the API, 3 (after the export) when it is not. A day is whole when its basal-energy
    intervals span at least 23 hours (the shortest local day, a DST spring-forward): the basal metabolic rate burns
    every minute, so a shorter span is a day the API holds only part of, e.g. the first local day of a load window
    cut on UTC dates, or today. A partial API day still fills a date no other source has. Selects activity_date,
    basal_minutes and source_rank. -#}
{% macro google_health_day_rank() -%}
    select
        activity_date,
        sum(interval_minutes) as basal_minutes,
        case when sum(interval_minutes) >= 23 * 60 then 1 else 3 end as source_rank
    from {{ ref('stg_google_health__basal_energy_intervals') }}
    group by activity_date
{%- endmacro %}

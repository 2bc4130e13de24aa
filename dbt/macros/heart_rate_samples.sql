{#- Heart-rate samples from every health source, one row per sample instant (the body of
    int_health__heart_rate_samples). Sources are ranked (source_rank: 1 Google Health API, 2 Takeout export,
    3 legacy tables) and a day is taken whole from the best-ranked source that has samples on it: two sources
    sample the same wrist at slightly different instants, so mixing them within a day would count the day twice.

    `utc_filter` (a condition on sample_at_utc) is applied to the union *before* the windows: an incremental mart
    passes the span of the months it recomputes (in_utc_span), so a new day does not rank all history. The export's
    staging body gets it on its raw rows, before its own de-dup and recorder windows (a filter above that view
    cannot reach below them). The span
    must hold whole local days (each day's best source is decided from all of its samples): in_utc_span widens
    the months by two days each way. Rows of days only partly inside the span come out too: filter the result
    by date.

    The macro writes CTEs (hr_*, ending with `best_source_samples`): the calling model writes `with` before them
    and its own CTEs after them. -#}
{% macro heart_rate_samples_ctes(utc_filter='1 = 1') -%}
{%- set columns = [
    'sample_at_utc', 'sample_at_local', 'utc_offset_minutes', 'sample_date', 'bpm', 'source_system', 'source_rank',
] -%}
{#- the export's staging body with the filter on its raw rows, before its windows (a filter above the view stops at
    its recorder windows, partitioned by the day); the view itself on a full build -#}
{%- set bodies = {} -%}
{%- if utc_filter != '1 = 1' -%}
    {%- do bodies.update({'stg_fitbit_export__heart_rate_samples':
                          stg_fitbit_export__heart_rate_samples_sql(utc_filter, record_optional=false)}) -%}
{%- endif -%}
hr_unioned as (

    {{ union_health_sources([
        'stg_google_health__heart_rate_samples',
        'stg_fitbit_export__heart_rate_samples',
        'stg_fitbit__heart_rate_samples',
    ], columns, bodies) }}

),

hr_in_span as (

    select * from hr_unioned
    where {{ utc_filter }}

),

hr_day_sources as (

    select
        sample_date,
        min(source_rank) as best_rank
    from hr_in_span
    group by sample_date

),

hr_ranked as (

    select
        hr_in_span.*,
        row_number() over (
            partition by hr_in_span.sample_at_utc order by hr_in_span.source_rank, hr_in_span.source_system
        ) as instant_rank
    from hr_in_span
    inner join hr_day_sources
        on
            hr_in_span.sample_date = hr_day_sources.sample_date
            and hr_in_span.source_rank = hr_day_sources.best_rank

),

best_source_samples as (

    select
        sample_at_utc,
        sample_at_local,
        utc_offset_minutes,
        sample_date,
        bpm,
        source_system,
        source_rank
    from hr_ranked
    where instant_rank = 1

)
{%- endmacro %}


{#- The raw tables whose new rows make fct_heart_rate_daily recompute a month: (source, table, the date expression
    of a row) for changed_months (the mart, and its post-hook recording the months for the tests). -#}
{% macro heart_rate_daily_changed_sources() -%}
    {{- return([
        ('fitbit_export', 'fitbit_export__heart_rate', 'sample_date'),
        ('google_health', 'fitbit__heart_rate_samples', 'sample_at_local'),
        ('fitbit_export', 'fitbit_export__resting_heart_rate', 'metric_date'),
        ('google_health', 'fitbit__daily_resting_heart_rate', 'metric_date'),
    ]) -}}
{%- endmacro %}

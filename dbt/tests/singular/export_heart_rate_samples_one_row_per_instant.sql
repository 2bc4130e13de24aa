-- stg_fitbit_export__heart_rate_samples holds one row per sample instant, each with its local date (the view's
-- unique and not_null tests in one read), on the months the last build of fct_heart_rate_daily recomputed: all
-- history after a full build, the changed months on a scheduled one (macros/recomputed_months.sql). Its body is read
-- with those months' span applied to the raw rows, before its de-dup and recorder windows, as the mart reads it.
{%- set months = recomputed_months(ref('fct_heart_rate_daily')) %}
{% if months == [] -%}
{{ no_sample_instant_problems() }}
{%- else -%}
with

samples as (

    {% if months is none -%}
    select * from {{ ref('stg_fitbit_export__heart_rate_samples') }}
    {%- else -%}
    {{ stg_fitbit_export__heart_rate_samples_sql(in_utc_span('sample_at_utc', months), record_optional=false) }}
    {%- endif %}

)

{{ sample_instant_problems('samples', months) }}
{%- endif %}

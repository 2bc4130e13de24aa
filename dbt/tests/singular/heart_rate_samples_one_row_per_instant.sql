-- int_health__heart_rate_samples holds one row per sample instant, each with its local date (the view's unique and
-- not_null tests in one read), on the months the last build of fct_heart_rate_daily recomputed: all history after a
-- full build, the changed months on a scheduled one (macros/recomputed_months.sql). The view's macro is read with
-- those months' span applied to the raw rows, as the mart reads it, so the test costs what the mart costs.
{%- set months = recomputed_months(ref('fct_heart_rate_daily')) %}
-- depends on {{ ref('int_health__heart_rate_samples') }}
{% if months == [] -%}
{{ no_sample_instant_problems() }}
{%- else -%}
with

{{ heart_rate_samples_ctes(in_utc_span('sample_at_utc', months)) }}

{{ sample_instant_problems('best_source_samples', months) }}
{%- endif %}

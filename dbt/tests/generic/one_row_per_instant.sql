{#- A heart-rate sample view without windows (a plain select from its raw table) holds one row per sample instant,
    each with its local date (unique and not_null in one read), on the months the last build of `recomputed_by` (a
    mart's name) recomputed: all history after a full build (macros/recomputed_months.sql). The span filter reaches
    the raw table through the view, so a scheduled build reads the changed months' partitions, not all history.
    Views with de-dup windows cannot take it from above: their singular tests read their macros instead. -#}
{% test one_row_per_instant(model, recomputed_by) %}
    {%- set months = recomputed_months(ref(recomputed_by)) -%}
    {%- if months == [] -%}
{{ no_sample_instant_problems() }}
    {%- else -%}
with

samples as (

    select
        sample_at_utc,
        sample_date
    from {{ model }}
    where {{ in_utc_span('sample_at_utc', months) }}

)

{{ sample_instant_problems('samples', months) }}
    {%- endif %}
{% endtest %}

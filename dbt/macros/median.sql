{#- The exact median (the mean of the two middle values when the count is even) as an aggregate on every
    target. BigQuery's percentile_cont is analytic only and approx_quantiles returns one of the middle
    values, so there it runs percentile_cont over the group's values gathered into an array. -#}
{% macro median(expr) %}{{ return(adapter.dispatch('median')(expr)) }}{% endmacro %}
{% macro default__median(expr) %}percentile_cont(0.5) within group (order by {{ expr }}){% endmacro %}
{% macro duckdb__median(expr) %}quantile_cont({{ expr }}, 0.5){% endmacro %}
{% macro bigquery__median(expr) -%}
    (
        select percentile_cont(cast(group_value as {{ dbt.type_float() }}), 0.5) over ()
        from unnest(array_agg({{ expr }} ignore nulls)) as group_value
        limit 1
    )
{%- endmacro %}

{#- Median as an aggregate on every target. BigQuery has no exact median aggregate (its
    percentile_cont is analytic only), so it uses approx_quantiles: the middle value, not the
    mean of the two middle values when the count is even. -#}
{% macro median(expr) %}{{ return(adapter.dispatch('median')(expr)) }}{% endmacro %}
{% macro default__median(expr) %}percentile_cont(0.5) within group (order by {{ expr }}){% endmacro %}
{% macro duckdb__median(expr) %}quantile_cont({{ expr }}, 0.5){% endmacro %}
{% macro bigquery__median(expr) %}approx_quantiles({{ expr }}, 2)[offset(1)]{% endmacro %}

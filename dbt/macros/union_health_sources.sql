{#- The union of one health entity's staging models (one per source: Google Health API, Takeout export,
    legacy tables), each selecting the same canonical `columns`, including source_system and source_rank.
    Models pick the best-ranked row per key after it; a new health source adds its staging model here.
    `bodies` maps a model to its SQL, read in its place (a staging body filtered before its windows). -#}
{% macro union_health_sources(models, columns, bodies={}) -%}
    {%- for model in models %}
    select
        {%- for column in columns %}
        {{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    {%- if model in bodies %}
    from (
        {{ bodies[model] }}
    ) as {{ model }}
    {%- else %}
    from {{ ref(model) }}
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

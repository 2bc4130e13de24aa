{#- The CTEs `ranked`, `deduplicated` and `day_recorder` of an export staging model over `relation`: a
    recorder's (`data_source`) instant held by two files (month files that overlap their neighbours, JSON and
    CSV twins) counts once, the later file name first; then only the rows of each `day_column`'s top recorder
    (top_recorder_of_day, by `day_measure`) are kept. Select from `day_recorder`. -#}
{% macro export_top_recorder_rows(relation, instant_column, day_column, day_measure) -%}
ranked as (

    select
        *,
        row_number() over (partition by {{ instant_column }}, data_source order by source_file desc) as file_rank
    from {{ relation }}

),

deduplicated as (

    select * from ranked
    where file_rank = 1

),

day_recorder as (

    {{ top_recorder_of_day('deduplicated', day_column, day_measure) }}

)
{%- endmacro %}

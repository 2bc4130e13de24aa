{#- The rows of `relation` that each local day's top recorder wrote. The Takeout CSV layout interleaves
    simultaneous recorders (a watch and the phone in the pocket: `data_source`) at offset timestamps, so
    every stream survives the sample's time key and a day summed across them counts the same steps two to
    four times. Per `day_column`, the recorder with the largest `day_measure` (an aggregate over its rows:
    sum(steps), count(*)) is kept whole and the others dropped; a tie goes to the recorder whose name
    sorts first; rows without a data_source (the JSON layout, older CSV headers) are one recorder. -#}
{% macro top_recorder_of_day(relation, day_column, day_measure) -%}
    select *
    from (
        select
            *,
            dense_rank() over (
                partition by {{ day_column }}
                order by recorder_day_measure desc, coalesce(data_source, '')
            ) as recorder_rank
        from (
            select
                *,
                {{ day_measure }} over (partition by {{ day_column }}, data_source) as recorder_day_measure
            from {{ relation }}
        ) as measured
    ) as ranked
    where recorder_rank = 1
{%- endmacro %}

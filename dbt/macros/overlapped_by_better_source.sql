{#- The rows of `relation` (a CTE of sessions from several health sources) that a better-ranked source also
    recorded: a session of a worse source_rank whose [start_at_utc, end_at_utc) overlaps one of a better rank.
    Ids differ between sources, so overlap in time is what makes two rows the same night or workout. Selects
    source_system and `id_column`, the key to drop. -#}
{% macro overlapped_by_better_source(relation, id_column) -%}
    select distinct
        worse.source_system,
        worse.{{ id_column }}
    from {{ relation }} as worse
    inner join {{ relation }} as better
        on
            worse.source_rank > better.source_rank
            and worse.end_at_utc > better.start_at_utc
            and worse.start_at_utc < better.end_at_utc
{%- endmacro %}

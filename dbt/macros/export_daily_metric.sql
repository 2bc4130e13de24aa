{#- A Takeout export's daily metric table (resting heart rate, HRV, SpO2: `metrics` are its float columns) as a
    staging model: one row per local date, where a day held by two files (overlapping exports, JSON and CSV
    twins) counts once, the later file name first; lineage columns for int_health__* (source_rank 2). -#}
{% macro export_daily_metric(table_name, metrics) -%}
{%- set columns = {'metric_date': 'date'} -%}
{%- for metric in metrics -%}{%- do columns.update({metric: dbt.type_float()}) -%}{%- endfor -%}
{%- do columns.update({'source_file': dbt.type_string()}) -%}
with

source as (

    {{ source_if_exists('fitbit_export', table_name, columns) }}

),

ranked as (

    select
        *,
        row_number() over (partition by metric_date order by source_file desc) as file_rank
    from source

),

renamed as (

    select
        -- dates
        cast(metric_date as date) as metric_date,

        -- numerics
        {%- for metric in metrics %}
        cast({{ metric }} as {{ dbt.type_float() }}) as {{ metric }},
        {%- endfor %}

        -- lineage
        source_file,
        cast('takeout_export' as {{ dbt.type_string() }}) as source_system,
        2 as source_rank

    from ranked
    where file_rank = 1

)

select * from renamed
{%- endmacro %}

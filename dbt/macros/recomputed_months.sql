{#- What the last build of an incremental mart recomputed, so that the tests of the high-volume sample views below
    it check those months, not all history, on every scheduled build. A generic test over such a view (unique,
    not_null) reads every raw row each time: the view's windows stop a filter above them, so on BigQuery it scans
    every partition of the raw table (ten years of heart rate: about 7 GB a test, five tests a build), while the
    mart itself reads only the months that changed. Rows of a month are checked when a build recomputes it: when
    they arrive, and again when a re-imported file or a re-read window changes them; a full build checks all.

    The months live beside the mart in `<mart>__recomputed_months` (one row per month start; one null row: all
    history), written by the mart's post-hook before its load watermark moves, so it sees the same loads the
    build read. -#}

{% macro recomputed_months_relation(mart) -%}
    {{- return(api.Relation.create(database=mart.database, schema=mart.schema,
                                   identifier=mart.identifier ~ '__recomputed_months')) -}}
{%- endmacro %}

{#- Post-hook of a mart recomputed by months (`changed_sources` and `raw_relation` as the mart passes them to
    changed_months and load_id_cutoff); list it before save_load_watermark. -#}
{% macro save_recomputed_months(changed_sources, raw_relation) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set months = changed_months(changed_sources, load_id_cutoff(raw_relation)) -%}
    {%- if months is none -%}
        {%- set month_sql = 'select cast(null as date) as month_start' -%}
    {%- elif not months -%}
        {%- set month_sql = 'select cast(null as date) as month_start from (select 1 as one) as nothing where 1 = 0' -%}
    {%- else -%}
        {%- set selects = [] -%}
        {%- for month in months -%}
            {%- do selects.append("select cast('" ~ month ~ "' as date) as month_start") -%}
        {%- endfor -%}
        {%- set month_sql = selects | join(' union all ') -%}
    {%- endif -%}
    {{ return(adapter.dispatch('replace_small_table')(recomputed_months_relation(this), month_sql)) }}
{%- endmacro %}

{#- The months (first days, 'YYYY-MM-DD') the last build of `mart` (a relation: ref('<mart>')) recomputed, for a
    test to check: none (all history) after a full build and outside execution (parsing sees every ref); an empty
    list when that build changed nothing, or when the mart has no record (not built yet, or last built by a version
    without it): nothing to check until it is built, as a `dbt build` does before these tests. -#}
{% macro recomputed_months(mart) -%}
    {%- if not execute or run_query is undefined -%}{{ return(none) }}{%- endif -%}
    {%- set stored = recomputed_months_relation(mart) -%}
    {%- if adapter.get_relation(database=stored.database, schema=stored.schema,
                                identifier=stored.identifier) is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set months = [] -%}
    {%- for value in run_query('select month_start from ' ~ stored).columns[0].values() -%}
        {%- if value is none -%}{{ return(none) }}{%- endif -%}
        {%- do months.append(value | string) -%}
    {%- endfor -%}
    {{ return(months | sort) }}
{%- endmacro %}

{#- The rows breaking "one row per sample instant, each with its local date" in `samples` (a relation or CTE with
    sample_at_utc and sample_date), on the days of `months` (all days when none): a test's select (a view's unique
    and not_null tests in one read). -#}
{% macro sample_instant_problems(samples, months) -%}
select
    sample_at_utc,
    count(*) as n_rows,
    count(*) - count(sample_date) as n_without_date
from {{ samples }}
where sample_date is null or {{ in_months('sample_date', months) }}
group by sample_at_utc
having count(*) > 1 or sample_at_utc is null or count(sample_date) < count(*)
{%- endmacro %}

{#- sample_instant_problems' columns and no row, reading no relation: the check when no month was recomputed. A test
    that reads several views is selected with any one of them (dbt's eager indirect selection), so a build of some
    views in a warehouse without the others must not read them then. -#}
{% macro no_sample_instant_problems() -%}
select
    cast(null as {{ type_timestamp_utc() }}) as sample_at_utc,
    0 as n_rows,
    0 as n_without_date
from (select 1 as one) as nothing
where 1 = 0
{%- endmacro %}

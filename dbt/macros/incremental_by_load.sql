{#- Incremental marts that find what changed by dlt load id, not by event date: a re-imported file of an old day
    reaches them (its rows carry a new `_dlt_load_id`), and so does a Google Health window re-read.

    The watermark is the set of dlt loads that had completed (raw._dlt_loads, status 0) when the mart's last build
    started; it lives beside the mart in `<mart>__load_watermark` (one row per load id), written by the mart's
    post-hook, so a failed build never advances it. A build reads raw rows whose `_dlt_load_id` is at least the
    oldest completed load *not* in that set (a load that started before the last build and finished after it is
    such a load, so it is read again; loads the last build saw are not), then recomputes whole months of the mart.
    No lookback is needed; var('incremental_lookback_days', 0) still widens the cutoff by that many days. Without
    a watermark (the first build, the relation dropped, or the one-row `max_load_id` layout of earlier versions)
    everything is recomputed; `--full-refresh` rebuilds. -#}

{% macro load_watermark_relation() -%}
    {{- return(api.Relation.create(database=this.database, schema=this.schema,
                                   identifier=this.identifier ~ '__load_watermark')) -}}
{%- endmacro %}

{#- The cutoff load id (rows with `_dlt_load_id >= cutoff` changed since the last build), or none for a full build.
    `raw_relation`: any table of the raw dataset whose `_dlt_loads` lists the loads. -#}
{% macro load_id_cutoff(raw_relation) -%}
    {%- if not execute or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {#- sqlfluff's lint-only context has no run_query: lint the incremental SQL with a placeholder -#}
    {%- if run_query is undefined -%}{{ return('0') }}{%- endif -%}
    {%- set stored = load_watermark_relation() -%}
    {%- if adapter.get_relation(database=stored.database, schema=stored.schema,
                                identifier=stored.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set stored_columns = adapter.get_columns_in_relation(stored) | map(attribute='name') | map('lower') | list -%}
    {%- if 'load_id' not in stored_columns -%}{{ return(none) }}{%- endif -%}
    {%- set loads = adapter.get_relation(database=raw_relation.database, schema=raw_relation.schema,
                                         identifier='_dlt_loads') -%}
    {%- if loads is none -%}{{ return(none) }}{%- endif -%}
    {%- set value = run_query('select min(loads.load_id) from ' ~ loads ~ ' as loads where loads.status = 0'
        ~ ' and loads.load_id not in (select seen.load_id from ' ~ stored ~ ' as seen'
        ~ ' where seen.load_id is not null)').columns[0].values()[0] -%}
    {#- no load completed since: nothing to read (ten digits before the point until 2286) -#}
    {%- if value is none -%}{{ return('9999999999') }}{%- endif -%}
    {%- set lookback = var('incremental_lookback_days', 0) | float -%}
    {#- load ids compare as strings (ten digits before the point until 2286): with no lookback the id itself, else
        the number of seconds earlier (a rounded cutoff only reads a few more rows) -#}
    {%- if lookback <= 0 -%}{{ return(value | string) }}{%- endif -%}
    {{ return('%.6f' | format(value | float - lookback * 86400)) }}
{%- endmacro %}

{#- The months (first days, 'YYYY-MM-DD') holding a date that raw rows loaded from `cutoff` on carry; none without a
    cutoff (a full build). Asked at run time, so the model's filters are constants. -#}
{% macro changed_months(tables, cutoff) -%}
    {%- if cutoff is none -%}{{ return(none) }}{%- endif -%}
    {%- if run_query is undefined -%}{{ return(['2025-01-01']) }}{%- endif -%}  {#- sqlfluff's lint context -#}
    {%- set sql -%}
        select distinct {{ month_start('changed.changed_date') }} as month_start
        from ({{ dates_loaded_after(tables, cutoff) }}) as changed
        where changed.changed_date is not null
    {%- endset -%}
    {%- set months = [] -%}
    {%- for value in run_query(sql).columns[0].values() -%}
        {%- do months.append(value | string) -%}
    {%- endfor -%}
    {{ return(months | sort) }}
{%- endmacro %}

{#- The filter of an incremental build: `date_column` in one of `months` (and, given `utc_column`, its instant within
    those months' span, see in_utc_span); true on a full build (months none), false when nothing changed. -#}
{% macro in_months(date_column, months, utc_column=none) -%}
    {%- if months is none -%}
    1 = 1
    {%- elif not months -%}
    1 = 0
    {%- else -%}
    {{ month_start(date_column) }} in (
        {%- for month in months %}cast('{{ month }}' as date){% if not loop.last %}, {% endif %}{% endfor -%}
    )
    {%- if utc_column is not none %}
    and {{ in_utc_span(utc_column, months) }}
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- `utc_column` within the span of `months` widened by two days each way (every instant of their local days, in any
    time zone): lets BigQuery prune the raw partitions (partitioned by the UTC instant), and lets any engine push
    the filter below windows partitioned by the instant; true on a full build, false when nothing changed. -#}
{% macro in_utc_span(utc_column, months) -%}
    {%- if months is none -%}
    1 = 1
    {%- elif not months -%}
    1 = 0
    {%- else -%}
    {{ utc_column }} >= {{ day_as_instant(months[0], -2) }}
    and {{ utc_column }} < {{ day_as_instant(months[-1], 33) }}
    {%- endif -%}
{%- endmacro %}

{#- Midnight UTC `days` after the date literal `day`, as a UTC instant (dbt.dateadd is a DATETIME on BigQuery). -#}
{% macro day_as_instant(day, days) -%}
    cast({{ dbt.dateadd('day', days, "cast('" ~ day ~ "' as date)") }} as {{ type_timestamp_utc() }})
{%- endmacro %}

{#- Dates of the raw rows loaded from `cutoff` on: one select per (source, table, date expression) whose table
    exists (the sources are optional: see meta.optional_source_tables of the model). -#}
{% macro dates_loaded_after(tables, cutoff) -%}
    {%- set selects = [] -%}
    {%- for source_name, table_name, date_expression in tables -%}
        {%- set relation = source(source_name, table_name) -%}
        {%- if execute and adapter.get_relation(database=relation.database, schema=relation.schema,
                                                identifier=relation.identifier) is not none -%}
            {%- do selects.append('select distinct cast(' ~ date_expression ~ ' as date) as changed_date from '
                                  ~ relation ~ " where _dlt_load_id >= '" ~ cutoff ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if selects -%}
    {{ selects | join('\n    union all\n    ') }}
    {%- else -%}
    select cast(null as date) as changed_date
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: store the loads completed before this build started (raw._dlt_loads beside `raw_relation`). The start
    to the microsecond: cut to whole seconds, a load that finished in the second the build started was left out
    (and merely re-read by the next build; a build that starts the moment a load ends, as in one process, met it). -#}
{% macro save_load_watermark(raw_relation) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set loads = adapter.get_relation(database=raw_relation.database, schema=raw_relation.schema,
                                         identifier='_dlt_loads') -%}
    {%- set stored = load_watermark_relation() -%}
    {%- if loads is none -%}
        {%- set value_sql = 'select cast(null as ' ~ dbt.type_string() ~ ') as load_id' -%}
    {%- else -%}
        {%- set value_sql = 'select load_id from ' ~ loads ~ ' where status = 0 and inserted_at'
            ~ " <= cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as " ~ type_timestamp_utc() ~ ')' -%}
    {%- endif -%}
    {{ return(adapter.dispatch('replace_small_table')(stored, value_sql)) }}
{%- endmacro %}

{#- A one-statement replace of a small unpartitioned table (dbt's create_table_as would take the calling model's
    partitioning on BigQuery). -#}
{% macro default__replace_small_table(relation, sql) -%}
    drop table if exists {{ relation }};
    create table {{ relation }} as {{ sql }}
{%- endmacro %}
{% macro bigquery__replace_small_table(relation, sql) -%}
    create or replace table {{ relation }} as {{ sql }}
{%- endmacro %}
{% macro duckdb__replace_small_table(relation, sql) -%}
    create or replace table {{ relation }} as {{ sql }}
{%- endmacro %}

{#- The config of a mart recomputed by whole months: BigQuery replaces month partitions (insert_overwrite: one
    job may write 4,000 partitions at most, so days would cap a full rebuild at 11 years); DuckDB and Postgres
    delete the recomputed days and insert them (delete+insert on `date_column`). -#}
{% macro incremental_by_month_config(date_column) -%}
    {{- return(adapter.dispatch('incremental_by_month_config')(date_column)) -}}
{%- endmacro %}
{% macro default__incremental_by_month_config(date_column) -%}
    {{- return({'incremental_strategy': 'delete+insert', 'unique_key': date_column}) -}}
{%- endmacro %}
{% macro bigquery__incremental_by_month_config(date_column) -%}
    {{- return({'incremental_strategy': 'insert_overwrite',
                'partition_by': {'field': date_column, 'data_type': 'date', 'granularity': 'month'}}) -}}
{%- endmacro %}

{#- `dbt run-operation check_pipeline_freshness`: the transform's gate on pipeline freshness. Reads the
    pipeline_health mart (build it first) and fails, naming each source, when a source's last successful run
    is older than its error_after hours (var pipeline_freshness_hours) or it never succeeded; sources past
    warn_after are listed without failing. A source whose error_after is null is never an error. This is
    not data recency (how new the newest record is): that only warns, see the data_recency mart. -#}
{% macro check_pipeline_freshness() %}
    {%- set health = ref('pipeline_health') -%}
    {%- if adapter.get_relation(database=health.database, schema=health.schema, identifier=health.identifier) is none -%}
        {{ exceptions.raise_compiler_error('pipeline freshness: ' ~ health ~ ' is not built yet: run dbt build first') }}
    {%- endif -%}
    {%- set sql -%}
        select
            source_name,
            freshness_status,
            hours_since_success,
            warn_after_hours,
            error_after_hours,
            failed_runs_since_success,
            last_run_error
        from {{ health }}
        order by source_name
    {%- endset -%}
    {%- set errors, warnings = [], [] -%}
    {%- for row in run_query(sql).rows -%}
        {%- set name = row['source_name'] -%}
        {%- if row['freshness_status'] == 'stale' -%}
            {%- do errors.append(name ~ ' (last successful run ' ~ row['hours_since_success'] ~ ' h ago, error after '
                ~ row['error_after_hours'] ~ ' h)') -%}
        {%- elif row['freshness_status'] == 'never_succeeded' and row['error_after_hours'] is not none -%}
            {%- do errors.append(name ~ ' (never loaded successfully: ' ~ row['failed_runs_since_success']
                ~ ' failed runs, last error: ' ~ row['last_run_error'] ~ ')') -%}
        {%- elif row['freshness_status'] == 'warn' -%}
            {%- do warnings.append(name ~ ' (last successful run ' ~ row['hours_since_success'] ~ ' h ago, warn after '
                ~ row['warn_after_hours'] ~ ' h)') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if warnings -%}
        {{ print('pipeline freshness warning: ' ~ warnings | join('; ')) }}
    {%- endif -%}
    {%- if errors -%}
        {{ exceptions.raise_compiler_error('pipeline freshness: not loading: ' ~ errors | join('; ')) }}
    {%- endif -%}
    {{ print('pipeline freshness: every source with a threshold loaded successfully within its error_after hours') }}
{% endmacro %}

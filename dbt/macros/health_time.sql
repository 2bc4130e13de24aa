{#- Time in health data (../shared/design.md "Time in health data"): every health row carries `<x>_at_utc`
    (an instant), `<x>_at_local` (the wall clock where the person was) and a local `<x>_date`. These macros
    give the two timestamp types one name on every target, so the union branches of int_health__* agree. -#}

{#- An instant: timestamp with time zone (DuckDB, Postgres), TIMESTAMP (BigQuery, always UTC). -#}
{% macro type_timestamp_utc() %}{{ return(adapter.dispatch('type_timestamp_utc')()) }}{% endmacro %}
{% macro default__type_timestamp_utc() %}timestamp with time zone{% endmacro %}
{% macro bigquery__type_timestamp_utc() %}timestamp{% endmacro %}

{#- A wall-clock time without a zone: timestamp (DuckDB, Postgres), DATETIME (BigQuery, as dlt writes it). -#}
{% macro type_timestamp_local() %}{{ return(adapter.dispatch('type_timestamp_local')()) }}{% endmacro %}
{% macro default__type_timestamp_local() %}{{ dbt.type_timestamp() }}{% endmacro %}
{% macro bigquery__type_timestamp_local() %}datetime{% endmacro %}

{#- The instant of a wall-clock time in an IANA zone (rows that only know local time: the legacy tables). -#}
{% macro local_to_utc(column, zone) %}{{ return(adapter.dispatch('local_to_utc')(column, zone)) }}{% endmacro %}
{% macro default__local_to_utc(column, zone) %}({{ column }} at time zone '{{ zone }}'){% endmacro %}
{% macro duckdb__local_to_utc(column, zone) %}timezone('{{ zone }}', {{ column }}){% endmacro %}
{% macro bigquery__local_to_utc(column, zone) %}timestamp({{ column }}, '{{ zone }}'){% endmacro %}

{#- The zone legacy rows (which stored only local wall time) are read in: var health_timezone, default UTC. -#}
{% macro legacy_health_timezone() %}{{ return(var('health_timezone', 'UTC')) }}{% endmacro %}

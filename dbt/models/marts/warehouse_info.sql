select
    '{{ var("data_origin", "configured sources") }}' as data_origin,
    {{ dbt.current_timestamp() }} as built_at

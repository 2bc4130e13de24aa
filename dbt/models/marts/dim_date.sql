with

spine as (

    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('date_spine_start') ~ "' as date)",
        "cast('" ~ var('date_spine_end') ~ "' as date)"
    ) }}

),

days as (

    select cast(date_day as date) as date_day
    from spine

),

final as (

    select
        date_day,
        {{ iso_day_of_week('date_day') }} as iso_day_of_week,
        {{ day_name('date_day') }} as day_name,
        {{ iso_week('date_day') }} as iso_week,
        {{ iso_year('date_day') }} as iso_year,
        {{ week_start('date_day') }} as week_start_date,
        {{ month_start('date_day') }} as month_start_date,
        {{ month_end('date_day') }} as month_end_date,
        {{ month_name('date_day') }} as month_name,
        cast(extract(month from date_day) as {{ dbt.type_int() }}) as month_of_year,
        cast(extract(year from date_day) as {{ dbt.type_int() }}) as calendar_year,
        {{ iso_day_of_week('date_day') }} >= 6 as is_weekend
    from days

)

select * from final

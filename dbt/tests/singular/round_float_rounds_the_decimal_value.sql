-- round_float gives the same figure on every target: halves of the decimal value go away from zero.
-- The mean of 68 and 69.1 is 68.55, held in binary as 68.5499999...: DuckDB's round(double) said 68.5 where
-- Postgres (numeric) and BigQuery said 68.6, so the same mart differed between destinations.
with

cases as (

    select cast(68.55 as {{ dbt.type_float() }}) as value, 1 as digits, 68.6 as expected
    union all
    select cast(2.675 as {{ dbt.type_float() }}), 2, 2.68
    union all
    select cast(-0.05 as {{ dbt.type_float() }}), 1, -0.1
    union all
    select cast(0.125 as {{ dbt.type_float() }}), 2, 0.13
    union all
    select cast(1234.5678 as {{ dbt.type_float() }}), 3, 1234.568

),

rounded as (

    select
        value,
        expected,
        case digits
            when 1 then {{ round_float('value', 1) }}
            when 2 then {{ round_float('value', 2) }}
            else {{ round_float('value', 3) }}
        end as got
    from cases

)

select *
from rounded
where abs(got - expected) > 1e-9

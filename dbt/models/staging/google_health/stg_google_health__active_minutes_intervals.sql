-- one row per active-minutes interval start (the reconciled stream) with whole minutes per activity level, named
-- as the export names them: the API's LIGHT, MODERATE and VIGOROUS are Fitbit's lightly, moderately and very
-- active minutes. A level the interval did not have is null in raw and 0 here. The API has no sedentary level.
{{ google_health_intervals('fitbit__active_minutes_intervals', {
    'light_minutes': dbt.type_bigint(),
    'moderate_minutes': dbt.type_bigint(),
    'vigorous_minutes': dbt.type_bigint(),
}, [
        'cast(coalesce(vigorous_minutes, 0) as ' ~ dbt.type_int() ~ ') as very_active_minutes',
        'cast(coalesce(moderate_minutes, 0) as ' ~ dbt.type_int() ~ ') as moderately_active_minutes',
        'cast(coalesce(light_minutes, 0) as ' ~ dbt.type_int() ~ ') as lightly_active_minutes',
]) }}

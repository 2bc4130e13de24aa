-- one row per basal-energy interval start (the reconciled stream): the energy the basal metabolic rate burned
-- over the interval (discovery document, BasalEnergyBurned), kcal as the API sends it, and the interval's minutes.
{{ google_health_intervals('fitbit__basal_energy_intervals', {
    'basal_kcal': dbt.type_float(),
}, [
        'cast(basal_kcal as ' ~ dbt.type_float() ~ ') as basal_kcal',
        'cast(' ~ dbt.datediff('start_at_utc', 'end_at_utc', 'minute') ~ ' as ' ~ dbt.type_int() ~ ') as interval_minutes',
]) }}

-- one row per active-energy interval start (the reconciled stream). Active energy is the energy an activity
-- burned "excluding the basal energy burn" (discovery document, ActiveEnergyBurned): kcal as the API sends it.
{{ google_health_intervals('fitbit__active_energy_intervals', {
    'active_kcal': dbt.type_float(),
}, [
        'cast(active_kcal as ' ~ dbt.type_float() ~ ') as active_kcal',
]) }}

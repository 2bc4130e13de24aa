-- one row per interval start (the reconciled stream: an interval the phone and the watch both counted is there
-- once)
{{ google_health_intervals('fitbit__steps_intervals', {
    'steps': dbt.type_bigint(),
}, [
        'cast(steps as ' ~ dbt.type_bigint() ~ ') as steps',
]) }}

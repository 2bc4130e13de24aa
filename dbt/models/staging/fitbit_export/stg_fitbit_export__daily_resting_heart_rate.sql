-- one row per local date, the later file first (macros/export_daily_metric.sql)
{{ export_daily_metric('fitbit_export__resting_heart_rate', ['resting_bpm', 'error_bpm']) }}

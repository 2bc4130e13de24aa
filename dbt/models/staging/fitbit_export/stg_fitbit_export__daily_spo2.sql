-- one row per local date, the later file first (macros/export_daily_metric.sql)
{{ export_daily_metric('fitbit_export__spo2', ['spo2_avg_percent', 'spo2_lower_percent']) }}

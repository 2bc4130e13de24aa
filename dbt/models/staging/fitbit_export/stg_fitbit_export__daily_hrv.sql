-- one row per local date, the later file first (macros/export_daily_metric.sql)
{{ export_daily_metric('fitbit_export__hrv', ['rmssd_ms', 'nrem_heart_rate_bpm']) }}

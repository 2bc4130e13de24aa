-- one row per sample instant of one recorder per local day: the same sample can sit in two files (a JSON day
-- file beside its CSV twin where the CSV layout's coverage begins); the later file name wins (the CSV folder
-- sorts after the JSON one). A day keeps the recorder with the most samples (macros/top_recorder_of_day.sql):
-- two devices' samples would blend into one day's average and count its minutes and samples twice
-- (the body is a macro: fct_heart_rate_daily's incremental build filters its raw rows before the windows)
{{ stg_fitbit_export__heart_rate_samples_sql() }}

-- one row per minute: steps month files overlap their neighbours (and CSV twins may repeat JSON minutes), so
-- the same minute can come from two files; the later file name wins (macros/export_minute_intervals.sql)
{{ export_minute_intervals('fitbit_export__steps', 'steps', dbt.type_bigint()) }}

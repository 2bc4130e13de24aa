-- one row per minute of energy burned (kcal, BMR included): month files overlap and JSON/CSV twins may repeat a
-- minute, so the same minute can come from two files; the later file name wins (macros/export_minute_intervals.sql)
{{ export_minute_intervals('fitbit_export__calories', 'calories_kcal', dbt.type_float()) }}

-- Heart-rate samples from every health source, one row per sample instant; a local day taken whole from the
-- best-ranked source with samples on it (macros/heart_rate_samples.sql, which fct_heart_rate_daily also calls with
-- the span of the months it recomputes). A new source adds its staging model to the macro's union.
with

{{ heart_rate_samples_ctes() }},

final as (

    select * from best_source_samples

)

select * from final

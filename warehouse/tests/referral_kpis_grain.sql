-- One row per day x channel x ai_platform; ratios within [0, 1].
select day, channel, coalesce(ai_platform, '') as ai_platform, count(*) as rows_seen
from {{ ref('referral_kpis') }}
group by day, channel, coalesce(ai_platform, '')
having count(*) > 1
    or max(conversion_rate) > 1 or min(conversion_rate) < 0
    or max(coalesce(retention_d1, 0)) > 1 or max(coalesce(retention_d7, 0)) > 1
    or max(coalesce(retention_d30, 0)) > 1

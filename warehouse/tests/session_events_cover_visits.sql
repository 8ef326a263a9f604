-- Every non-synthetic visit event of conformed.referral_events is in exactly one session.
select e.dedup_key
from {{ ref('referral_events') }} as e
left join {{ ref('session_events') }} as s on s.dedup_key = e.dedup_key
where not e.is_synthetic
  and e.event_name in {{ refract.in_list(var('session_events')) }}
  and s.dedup_key is null

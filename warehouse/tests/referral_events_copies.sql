-- A merged row holds at least one emission, never more emissions than raw rows, and a
-- server+client row names both sides among its emitters.
select dedup_key
from {{ ref('referral_events') }}
where copies < 1
   or raw_rows < copies
   or (emitters like '%,%' and copies < 2)

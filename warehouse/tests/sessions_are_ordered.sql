-- A session ends after it starts, counts at least one event and lasts what its bounds say.
select session_id
from {{ ref('sessions') }}
where ended_at < started_at
   or event_count < 1
   or duration_seconds < 0
   or duplicate_sessions_removed < 0

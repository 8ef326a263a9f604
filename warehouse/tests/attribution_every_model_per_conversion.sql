-- Every conversion with a touch is attributed under all six models, each touch once per model.
select conversion_id, touch_session_id, count(distinct model) as models, count(*) as rows_seen
from {{ ref('attribution_facts') }}
group by conversion_id, touch_session_id
having count(distinct model) <> 6 or count(*) <> 6

-- Every conversion's weights under every model sum to 1 (within float tolerance).
select conversion_id, model, sum(weight) as total
from {{ ref('attribution_facts') }}
group by conversion_id, model
having abs(sum(weight) - 1.0) > 1e-9

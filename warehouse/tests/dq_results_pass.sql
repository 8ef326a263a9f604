-- Surfaces failing data-quality checks as a dbt warning (the build goes on; dq.results has the
-- details). Freshness is left to the runner, which knows whether the stream is idle.
{{ config(severity='warn') }}
select check_name, source, producer_name, value, threshold, details
from {{ ref('results') }}
where status = 'fail' and check_name <> 'freshness'

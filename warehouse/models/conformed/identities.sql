{#- anonymous_id / device_id -> user_id, from the events that link them (var identity_events:
    identify, signup, CRM leads). An identifier linked to several accounts (a shared browser)
    keeps its FIRST link (earliest occurred_at, then dedup key); user_ids_linked says how many it
    had. first/last seen span every non-synthetic event that carries the identifier. -#}
{{ config(materialized='table') }}

with events as (
    select *
    from {{ ref('referral_events') }}
    where not is_synthetic
),

links as (
    select 'anonymous_id' as id_type, anonymous_id as identifier, user_id, occurred_at, dedup_key, event_name
    from events
    where event_name in {{ refract.in_list(var('identity_events')) }}
      and user_id is not null and anonymous_id is not null
    union all
    select 'device_id' as id_type, device_id as identifier, user_id, occurred_at, dedup_key, event_name
    from events
    where event_name in {{ refract.in_list(var('identity_events')) }}
      and user_id is not null and device_id is not null
),

ranked as (
    select
        links.*,
        row_number() over (partition by id_type, identifier order by occurred_at, dedup_key) as link_rank,
        count(distinct user_id) over (partition by id_type, identifier) as user_ids_linked
    from links
),

seen as (
    select 'anonymous_id' as id_type, anonymous_id as identifier, min(occurred_at) as first_seen_at, max(occurred_at) as last_seen_at
    from events where anonymous_id is not null group by anonymous_id
    union all
    select 'device_id' as id_type, device_id as identifier, min(occurred_at) as first_seen_at, max(occurred_at) as last_seen_at
    from events where device_id is not null group by device_id
)

select
    cast(r.id_type || ':' || r.identifier as varchar) as identity_key,
    cast(r.id_type as varchar) as id_type,
    cast(r.identifier as varchar) as anonymous_id,
    cast(r.user_id as varchar) as user_id,
    cast(r.occurred_at as timestamp) as linked_at,
    cast(r.event_name as varchar) as linked_by,
    cast(r.user_ids_linked as bigint) as user_ids_linked,
    cast(s.first_seen_at as timestamp) as first_seen_at,
    cast(s.last_seen_at as timestamp) as last_seen_at
from ranked as r
inner join seen as s on s.id_type = r.id_type and s.identifier = r.identifier
where r.link_rank = 1

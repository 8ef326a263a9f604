{#- Every visit event (var session_events) of a non-synthetic business event, on its stitched
    identity, with the session it belongs to. user_key = user_id (own, else through identities:
    anonymous_id first, then device_id), else 'anon:<anonymous_id>', 'device:<device_id>'.
    A new session starts at a user's first event, after more than session_timeout_minutes of
    inactivity, or at a new referral: an event classified into an external channel (not internal,
    direct or unknown) whose channel|utm_campaign differs from the session's current one (the
    context of the session's first event, or of the last referral within it).
    Incremental (delete+insert on dedup_key): only the affected identities are sessionized
    again, each over its whole history (see the `touched` step). -#}
{{ config(
    materialized='incremental',
    incremental_strategy=('merge' if target.type == 'snowflake' else 'delete+insert'),
    unique_key='dedup_key',
    on_schema_change='fail'
) }}

with all_events as (
    select
        e.*,
        coalesce(e.user_id, ia.user_id, idv.user_id) as stitched_user_id
    from {{ ref('referral_events') }} as e
    left join {{ ref('identities') }} as ia
        on ia.id_type = 'anonymous_id' and ia.anonymous_id = e.anonymous_id
    left join {{ ref('identities') }} as idv
        on idv.id_type = 'device_id' and idv.anonymous_id = e.device_id
    where not e.is_synthetic
      and e.event_name in {{ refract.in_list(var('session_events')) }}
),

all_keyed as (
    select
        all_events.*,
        coalesce(stitched_user_id, 'anon:' || anonymous_id, 'device:' || device_id, 'event:' || dedup_key) as user_key
    from all_events
),

{% if is_incremental() %}
-- Incremental: re-sessionize every identity that gained, changed or lost an event. An event
-- is new or changed when its conformed row was re-derived since the previous build (loaded_at
-- rule, plus the received_at lookback); an identity is affected when it holds such an event,
-- or when an event moved to or from it (a new identity link re-keys older events).
watermark as (
    select max(received_at) as max_received_at, max(last_loaded_at) as max_loaded_at
    from {{ this }}
),

touched as (
    select c.user_key as new_key, p.user_key as old_key
    from all_keyed as c
    cross join watermark as w
    left join {{ this }} as p on p.dedup_key = c.dedup_key
    where p.dedup_key is null
       or p.user_key <> c.user_key
       or w.max_received_at is null
       or c.last_loaded_at >= w.max_loaded_at
       or c.received_at >= {{ dbt.dateadd('day', -1 * var('lookback_days'), 'w.max_received_at') }}
),

affected_users as (
    select new_key as user_key from touched
    union
    select old_key as user_key from touched where old_key is not null
),

keyed as (
    select
        k.*,
        case
            when k.channel is not null and k.channel not in ('internal', 'direct', 'unknown')
            then k.channel || '|' || coalesce(k.utm_campaign, '')
        end as referral_context
    from all_keyed as k
    where k.user_key in (select user_key from affected_users)
),
{% else %}
keyed as (
    select
        all_keyed.*,
        case
            when channel is not null and channel not in ('internal', 'direct', 'unknown')
            then channel || '|' || coalesce(utm_campaign, '')
        end as referral_context
    from all_keyed
),
{% endif %}

gaps as (
    select
        keyed.*,
        lag(occurred_at) over (partition by user_key order by occurred_at, dedup_key) as previous_at
    from keyed
),

segmented as (
    select
        gaps.*,
        case
            when previous_at is null
              or {{ refract.ms_between('previous_at', 'occurred_at') }} > {{ var('session_timeout_minutes') * 60 * 1000 }}
            then 1 else 0
        end as gap_start
    from gaps
),

segments as (
    select
        segmented.*,
        sum(gap_start) over (
            partition by user_key order by occurred_at, dedup_key
            rows between unbounded preceding and current row
        ) as segment_no,
        case
            when gap_start = 1 then coalesce(channel, 'direct') || '|' || coalesce(utm_campaign, '')
            else referral_context
        end as context
    from segmented
),

context_groups as (
    select
        segments.*,
        count(context) over (
            partition by user_key, segment_no order by occurred_at, dedup_key
            rows between unbounded preceding and current row
        ) as context_no
    from segments
),

carried as (
    select
        context_groups.*,
        max(context) over (partition by user_key, segment_no, context_no) as current_context
    from context_groups
),

previous_context as (
    select
        carried.*,
        lag(current_context) over (partition by user_key, segment_no order by occurred_at, dedup_key) as previous_context
    from carried
),

starts as (
    select
        previous_context.*,
        case
            when gap_start = 1 then 1
            when context is not null and previous_context is not null and context <> previous_context then 1
            else 0
        end as session_start
    from previous_context
),

numbered as (
    select
        starts.*,
        sum(session_start) over (
            partition by user_key order by occurred_at, dedup_key
            rows between unbounded preceding and current row
        ) as session_no
    from starts
),

sessioned as (
    select
        numbered.*,
        first_value(dedup_key) over (partition by user_key, session_no order by occurred_at, dedup_key) as first_key,
        row_number() over (partition by user_key, session_no order by occurred_at, dedup_key) as event_index
    from numbered
)

select
    cast(dedup_key as varchar) as dedup_key,
    cast({{ dbt.hash("user_key || '|' || first_key") }} as varchar) as session_id,
    cast(user_key as varchar) as user_key,
    cast(stitched_user_id as varchar) as user_id,
    cast(anonymous_id as varchar) as anonymous_id,
    cast(event_name as varchar) as event_name,
    cast(source as varchar) as source,
    cast(emitters as varchar) as emitters,
    cast(copies as bigint) as copies,
    cast(occurred_at as timestamp) as occurred_at,
    cast(received_at as timestamp) as received_at,
    cast(last_loaded_at as timestamp) as last_loaded_at,
    cast(event_index as bigint) as event_index,
    cast(channel as varchar) as channel,
    cast(ai_platform as varchar) as ai_platform,
    cast(utm_campaign as varchar) as utm_campaign,
    cast(referrer_url as varchar) as referrer_url,
    cast(referrer_host as varchar) as referrer_host,
    cast(landing_url as varchar) as landing_url,
    cast(app_referrer as varchar) as app_referrer,
    cast(utm_source as varchar) as utm_source,
    cast(utm_medium as varchar) as utm_medium,
    is_conversion,
    cast(conversion_value as double) as conversion_value,
    cast(currency as varchar) as currency
from sessioned

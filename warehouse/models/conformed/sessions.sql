{#- One row per session (see session_events for the boundaries). channel, ai_platform, landing
    page and campaign come from the session's first event (a first event with no referral at all
    makes the session direct). duplicate_sessions_removed is 1 when at least one event of the
    visit was reported by both a client (web/mobile) and the server and merged: counted per
    emitter, the visit would have been two sessions; 0 otherwise. -#}
{{ config(materialized='table') }}

with events as (
    select * from {{ ref('session_events') }}
),

firsts as (
    select * from events where event_index = 1
),

aggregated as (
    select
        session_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as event_count,
        max(case when is_conversion then 1 else 0 end) as converted_flag,
        sum(case when is_conversion then 1 else 0 end) as conversions,
        sum(case when event_name = 'signup' then 1 else 0 end) as signups,
        sum(case when is_conversion then conversion_value end) as revenue,
        max(user_id) as user_id,
        max(
            case when copies > 1 and emitters like '%server%' and emitters <> 'server' then 1 else 0 end
        ) as duplicate_flag
    from events
    group by session_id
),

numbered as (
    select
        a.*,
        f.user_key,
        f.anonymous_id,
        f.source,
        coalesce(f.channel, 'direct') as channel,
        f.ai_platform,
        f.utm_campaign,
        f.referrer_host,
        f.landing_url,
        row_number() over (partition by f.user_key order by a.started_at, a.session_id) as session_number
    from aggregated as a
    inner join firsts as f on f.session_id = a.session_id
)

select
    cast(session_id as varchar) as session_id,
    cast(user_key as varchar) as user_key,
    cast(user_id as varchar) as user_id,
    cast(anonymous_id as varchar) as anonymous_id,
    cast(source as varchar) as source,
    cast(started_at as timestamp) as started_at,
    cast(ended_at as timestamp) as ended_at,
    cast({{ refract.ms_between('started_at', 'ended_at') }} / 1000.0 as double) as duration_seconds,
    cast(channel as varchar) as channel,
    cast(ai_platform as varchar) as ai_platform,
    cast(utm_campaign as varchar) as utm_campaign,
    cast(referrer_host as varchar) as referrer_host,
    cast(landing_url as varchar) as landing_url,
    cast(event_count as bigint) as event_count,
    converted_flag = 1 as converted,
    cast(conversions as bigint) as conversions,
    cast(signups as bigint) as signups,
    cast(revenue as double) as revenue,
    cast(session_number as bigint) as session_number,
    cast(duplicate_flag as bigint) as duplicate_sessions_removed
from numbered

{#- One row per data-quality check and source (and producer for malformed payloads), measured
    at build time over the rows received in the last dq_window_days before the newest received_at
    (so a replay of old data measures the same thing). Synthetic events are left out.
    Ratios are in [0, 1]; freshness is in seconds. status: pass <= threshold < warn <= 2x < fail.
    Checks: missing_referral_metadata, malformed_rate, utm_referrer_conflict,
    ai_app_referrer_misclassified, ai_host_unclassified, duplicate_rate, freshness. -#}
{{ config(materialized='table') }}

with raw_events as (
    select
        r.*,
        {{ refract.json_str('r.gateway', 'producer.name') }} as producer_name,
        {{ refract.json_str('r.gateway', 'producer.source') }} as key_source
    from {{ source('raw', 'events') }} as r
),

business_raw as (
    select * from raw_events
    where coalesce(producer_name, '') not in {{ refract.in_list(var('synthetic_producers')) }}
),

horizon as (
    select max(received_at) as newest from business_raw
),

window_raw as (
    select b.* from business_raw as b cross join horizon as h
    where b.received_at >= {{ dbt.dateadd('day', -1 * var('dq_window_days', 1), 'h.newest') }}
),

window_dead as (
    select d.* from {{ source('raw', 'dead_letters') }} as d cross join horizon as h
    where h.newest is null
       or d.received_at >= {{ dbt.dateadd('day', -1 * var('dq_window_days', 1), 'h.newest') }}
),

events as (
    select e.* from {{ ref('referral_events') }} as e cross join horizon as h
    where not e.is_synthetic
      and e.received_at >= {{ dbt.dateadd('day', -1 * var('dq_window_days', 1), 'h.newest') }}
),

landing as (
    select se.*
    from {{ ref('session_events') }} as se
    inner join events as e on e.dedup_key = se.dedup_key
    where se.event_index = 1 and se.emitters <> 'server'
),

missing_referral as (
    select
        'missing_referral_metadata' as check_name,
        source,
        cast(null as varchar) as producer_name,
        sum(case when coalesce(referrer_url, '') = '' and app_referrer is null
                   and utm_source is null and utm_medium is null and utm_campaign is null
                 then 1 else 0 end) * 1.0 / count(*) as value,
        {{ var('dq_missing_referral_threshold') }} as threshold,
        'landing events with no referrer and no UTM: '
            || cast(sum(case when coalesce(referrer_url, '') = '' and app_referrer is null
                   and utm_source is null and utm_medium is null and utm_campaign is null
                 then 1 else 0 end) as varchar)
            || ' of ' || cast(count(*) as varchar) as details
    from landing
    group by source
),

accepted_by_producer as (
    select coalesce(key_source, 'unknown') as source, coalesce(producer_name, 'unknown') as producer_name, count(*) as accepted
    from window_raw group by 1, 2
),

dead_by_producer as (
    select coalesce(producer_source, 'unknown') as source, coalesce(producer_name, 'unknown') as producer_name, count(*) as rejected
    from window_dead
    where coalesce(producer_name, '') not in {{ refract.in_list(var('synthetic_producers')) }}
    group by 1, 2
),

malformed as (
    select
        'malformed_rate' as check_name,
        coalesce(a.source, d.source) as source,
        coalesce(a.producer_name, d.producer_name) as producer_name,
        coalesce(d.rejected, 0) * 1.0 / (coalesce(d.rejected, 0) + coalesce(a.accepted, 0)) as value,
        {{ var('dq_malformed_threshold') }} as threshold,
        'dead letters: ' || cast(coalesce(d.rejected, 0) as varchar)
            || ', accepted: ' || cast(coalesce(a.accepted, 0) as varchar) as details
    from accepted_by_producer as a
    full outer join dead_by_producer as d
        on d.source = a.source and d.producer_name = a.producer_name
),

classified as (
    select
        e.*,
        case
            when e.app_referrer is not null then lower(e.app_referrer)
            when lower(e.referrer_url) like 'android-app://%' or lower(e.referrer_url) like 'ios-app://%'
            then lower(e.referrer_url)
        end as app_uri
    from events as e
    where e.channel is not null
),

app_keys as (
    select
        classified.*,
        case when app_uri is not null then
            {{ dbt.split_part('app_uri', "'://'", 1) }} || '://'
            || {{ dbt.split_part(dbt.split_part('app_uri', "'://'", 2), "'/'", 1) }}
        end as app_key
    from classified
),

ai_apps as (
    select signal, ai_platform from {{ ref('ai_referral_signals') }} where signal_kind = 'app_referrer'
),

ai_hosts as (
    select signal, ai_platform from {{ ref('ai_referral_signals') }} where signal_kind = 'host'
),

flags as (
    select
        k.dedup_key,
        k.source,
        k.channel,
        k.classification_method,
        k.classification_conflict,
        k.app_key,
        k.referrer_host,
        max(case when aa.signal is not null then 1 else 0 end) as ai_app,
        max(case when ah.signal is not null then 1 else 0 end) as ai_host
    from app_keys as k
    left join ai_apps as aa on aa.signal = k.app_key
    left join ai_hosts as ah
        on k.referrer_host = ah.signal or k.referrer_host like '%.' || ah.signal
    group by k.dedup_key, k.source, k.channel, k.classification_method, k.classification_conflict,
             k.app_key, k.referrer_host
),

conflicts as (
    select
        'utm_referrer_conflict' as check_name,
        source,
        cast(null as varchar) as producer_name,
        sum(case when classification_conflict then 1 else 0 end) * 1.0 / count(*) as value,
        {{ var('dq_conflict_threshold') }} as threshold,
        'events whose UTM and referrer disagree: '
            || cast(sum(case when classification_conflict then 1 else 0 end) as varchar)
            || ' of ' || cast(count(*) as varchar) || ' classified' as details
    from flags
    group by source
),

ai_app_misclassified as (
    select
        'ai_app_referrer_misclassified' as check_name,
        source,
        cast(null as varchar) as producer_name,
        sum(case when ai_app = 1 and channel <> 'ai_assistant'
                  and coalesce(classification_method, '') not in ('utm', 'click_id') then 1 else 0 end) * 1.0
            / count(*) as value,
        0.0 as threshold,
        'AI app referrers not classified ai_assistant: '
            || cast(sum(case when ai_app = 1 and channel <> 'ai_assistant'
                  and coalesce(classification_method, '') not in ('utm', 'click_id') then 1 else 0 end) as varchar)
            || ' of ' || cast(count(*) as varchar) || ' app-referred' as details
    from flags
    where app_key is not null
    group by source
),

ai_host_unclassified as (
    select
        'ai_host_unclassified' as check_name,
        source,
        cast(null as varchar) as producer_name,
        sum(case when ai_host = 1 and channel <> 'ai_assistant'
                  and coalesce(classification_method, '') not in ('utm', 'click_id') then 1 else 0 end) * 1.0
            / count(*) as value,
        0.0 as threshold,
        'referrers on AI hosts not classified ai_assistant: '
            || cast(sum(case when ai_host = 1 and channel <> 'ai_assistant'
                  and coalesce(classification_method, '') not in ('utm', 'click_id') then 1 else 0 end) as varchar)
            || ' of ' || cast(count(*) as varchar) || ' with a referrer host' as details
    from flags
    where referrer_host is not null
    group by source
),

duplicates as (
    select
        'duplicate_rate' as check_name,
        source,
        cast(null as varchar) as producer_name,
        (count(*) - count(distinct coalesce(dedup_key, event_id))) * 1.0 / count(*) as value,
        {{ var('dq_duplicate_threshold') }} as threshold,
        'raw rows: ' || cast(count(*) as varchar)
            || ', retried copies (same event_id): ' || cast(count(*) - count(distinct event_id) as varchar)
            || ', business events: ' || cast(count(distinct coalesce(dedup_key, event_id)) as varchar) as details
    from window_raw
    group by source
),

freshness as (
    select
        'freshness' as check_name,
        source,
        cast(null as varchar) as producer_name,
        {{ refract.ms_between('max(received_at)', refract.utc_now()) }} / 1000.0 as value,
        {{ var('dq_freshness_seconds') }} as threshold,
        'newest received_at: ' || cast(max(received_at) as varchar) as details
    from business_raw
    group by source
),

checks as (
    select * from missing_referral
    union all select * from malformed
    union all select * from conflicts
    union all select * from ai_app_misclassified
    union all select * from ai_host_unclassified
    union all select * from duplicates
    union all select * from freshness
)

select
    cast(check_name as varchar) as check_name,
    cast(source as varchar) as source,
    cast(producer_name as varchar) as producer_name,
    cast({{ refract.utc_now() }} as timestamp) as measured_at,
    cast(value as double) as value,
    cast(threshold as double) as threshold,
    cast({{ refract.dq_status('value', 'threshold') }} as varchar) as status,
    cast(details as varchar) as details
from checks

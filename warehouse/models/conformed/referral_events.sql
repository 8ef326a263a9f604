{#- One row per business event: every emission that shares a dedup key (or, without one, an
    event_id) merged into one row. Rule (docs/warehouse.md): the server-side copy (backend or CRM
    emitter) is authoritative for user_id and the conversion value/currency; the client copy (web,
    mobile) for the device, the session and the referral context; each field falls back to the
    other side when its preferred side lacks it. Retried emissions (same event_id) count once.
    Incremental: a build re-derives, from all raw rows, every key seen in the lookback window of
    received_at or loaded since the previous build; queryable_at keeps the first build's time. -#}
{{ config(
    materialized='incremental',
    incremental_strategy=('merge' if target.type == 'snowflake' else 'delete+insert'),
    unique_key='dedup_key',
    on_schema_change='fail'
) }}

with
{% if is_incremental() %}
watermark as (
    select max(received_at) as max_received_at, max(last_loaded_at) as max_loaded_at
    from {{ this }}
),

affected as (
    select distinct coalesce(r.dedup_key, r.event_id) as event_key
    from {{ source('raw', 'events') }} as r
    cross join watermark as w
    where w.max_received_at is null
       or r.received_at >= {{ dbt.dateadd('day', -1 * var('lookback_days'), 'w.max_received_at') }}
       or r.loaded_at >= w.max_loaded_at
),
{% endif %}

raw_rows as (
    select
        coalesce(r.dedup_key, r.event_id) as event_key,
        r.dedup_key is not null as has_dedup_key,
        r.event_id,
        r.event_name,
        r.schema_ref,
        r.source,
        r.occurred_at,
        r.received_at,
        r.loaded_at,
        r.position,
        r.stream,
        r.shard_id,
        {{ refract.json_str('r.gateway', 'producer.name') }} as producer_name,
        {{ refract.json_str('r.gateway', 'producer.source') }} as key_source,
        {{ refract.json_str('r.payload', 'user.user_id') }} as user_id,
        {{ refract.json_str('r.payload', 'user.anonymous_id') }} as anonymous_id,
        {{ refract.json_str('r.payload', 'user.device_id') }} as device_id,
        {{ refract.json_str('r.payload', 'session.session_id') }} as session_id,
        {{ refract.json_str('r.payload', 'referral.classification.channel') }} as channel,
        {{ refract.json_str('r.payload', 'referral.classification.ai_platform') }} as ai_platform,
        {{ refract.json_str('r.payload', 'referral.classification.method') }} as classification_method,
        {{ refract.json_bool('r.payload', 'referral.classification.conflict') }} as classification_conflict,
        {{ refract.json_str('r.payload', 'referral.referrer_url') }} as referrer_url,
        coalesce(
            {{ refract.json_str('r.payload', 'referral.landing_url') }},
            {{ refract.json_str('r.payload', 'page.url') }},
            {{ refract.json_str('r.payload', 'deep_link_url') }}
        ) as landing_url,
        {{ refract.json_str('r.payload', 'referral.utm_source') }} as utm_source,
        {{ refract.json_str('r.payload', 'referral.utm_medium') }} as utm_medium,
        {{ refract.json_str('r.payload', 'referral.utm_campaign') }} as utm_campaign,
        {{ refract.json_str('r.payload', 'referral.utm_term') }} as utm_term,
        {{ refract.json_str('r.payload', 'referral.utm_content') }} as utm_content,
        {{ refract.json_str('r.payload', 'referral.app_referrer') }} as app_referrer,
        coalesce(
            {{ refract.json_str('r.payload', 'page.url') }},
            {{ refract.json_str('r.payload', 'deep_link_url') }}
        ) as page_url,
        {{ refract.json_str('r.payload', 'page.path') }} as page_path,
        {{ refract.json_str('r.payload', 'device.type') }} as device_type,
        {{ refract.json_str('r.payload', 'device.os') }} as device_os,
        {{ refract.json_str('r.payload', 'device.browser') }} as browser,
        {{ refract.json_str('r.payload', 'device.app_version') }} as app_version,
        {{ refract.json_str('r.payload', 'device.locale') }} as locale,
        {{ refract.json_str('r.payload', 'plan') }} as plan,
        {{ refract.json_str('r.payload', 'order_id') }} as order_id,
        {{ refract.json_str('r.payload', 'subscription_id') }} as subscription_id,
        {{ refract.json_str('r.payload', 'billing_period') }} as billing_period,
        {{ refract.json_str('r.payload', 'trial_id') }} as trial_id,
        case when r.event_name = 'signup' then {{ refract.json_str('r.payload', 'method') }} end as signup_method,
        {{ refract.json_str('r.payload', 'company_size') }} as company_size,
        {{ refract.json_str('r.payload', 'crm') }} as crm,
        {{ refract.json_str('r.payload', 'lead_id') }} as lead_id,
        {{ refract.json_str('r.payload', 'lifecycle_stage') }} as lifecycle_stage,
        {{ refract.json_num('r.payload', 'value') }} as conversion_value,
        {{ refract.json_str('r.payload', 'currency') }} as currency,
        case
            when r.source in ('backend', 'crm')
              or {{ refract.json_str('r.gateway', 'producer.source') }} in ('backend', 'crm')
            then 1 else 0
        end as is_server
    from {{ source('raw', 'events') }} as r
    {% if is_incremental() %}
    where coalesce(r.dedup_key, r.event_id) in (select event_key from affected)
    {% endif %}
),

-- retried requests repeat an event_id: keep its first received copy
emissions as (
    select *
    from (
        select
            raw_rows.*,
            row_number() over (
                partition by event_key, event_id
                order by received_at, stream, shard_id, position
            ) as retry_rank,
            count(*) over (partition by event_key) as raw_row_count,
            max(loaded_at) over (partition by event_key) as max_loaded_at
        from raw_rows
    ) as ranked
    where retry_rank = 1
),

ranked as (
    select
        emissions.*,
        row_number() over (
            partition by event_key order by received_at, stream, shard_id, position
        ) as arrival_rank,
        row_number() over (
            partition by event_key order by is_server, received_at, stream, shard_id, position
        ) as client_rank,
        row_number() over (
            partition by event_key order by is_server desc, received_at, stream, shard_id, position
        ) as server_rank
    from emissions
),

-- one aggregate pass: each field is the first non-null value in its side's preference order
merged as (
    select
        event_key,
        -- the first received emission names the event
        {%- for col in ['event_id', 'event_name', 'schema_ref'] %}
        {{ refract.first_by(col, 'arrival_rank') }} as {{ col }},
        {%- endfor %}
        -- client side first
        {%- for col in ['source', 'producer_name', 'anonymous_id', 'device_id', 'session_id', 'channel',
                        'ai_platform', 'classification_method', 'classification_conflict', 'referrer_url',
                        'landing_url', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content',
                        'app_referrer', 'page_url', 'page_path', 'device_type', 'device_os', 'browser',
                        'app_version', 'locale'] %}
        {{ refract.first_by(col, 'client_rank') }} as {{ col }},
        {%- endfor %}
        -- server side first
        {%- for col in ['user_id', 'conversion_value', 'currency', 'plan', 'order_id', 'subscription_id',
                        'billing_period', 'trial_id', 'signup_method', 'company_size', 'crm', 'lead_id',
                        'lifecycle_stage'] %}
        {{ refract.first_by(col, 'server_rank') }} as {{ col }},
        {%- endfor %}
        {{ refract.distinct_list("case when is_server = 1 then 'server' else source end") }} as emitters,
        count(*) as copies,
        max(raw_row_count) as raw_row_count,
        max(case when has_dedup_key then 1 else 0 end) as has_dedup_key_flag,
        max(case when producer_name in {{ refract.in_list(var('synthetic_producers')) }} then 1 else 0 end)
            as synthetic_flag,
        min(occurred_at) as occurred_at,
        min(received_at) as received_at,
        max(max_loaded_at) as max_loaded_at
    from ranked
    group by event_key
),

final as (
    select
        cast(m.event_key as varchar) as dedup_key,
        m.has_dedup_key_flag = 1 as has_dedup_key,
        cast(m.event_id as varchar) as event_id,
        cast(m.event_name as varchar) as event_name,
        cast(m.schema_ref as varchar) as schema_ref,
        cast(m.source as varchar) as source,
        cast(m.emitters as varchar) as emitters,
        cast(m.copies as bigint) as copies,
        cast(m.raw_row_count as bigint) as raw_rows,
        cast(m.producer_name as varchar) as producer_name,
        cast(m.user_id as varchar) as user_id,
        cast(m.anonymous_id as varchar) as anonymous_id,
        cast(m.device_id as varchar) as device_id,
        cast(m.session_id as varchar) as session_id,
        cast(m.occurred_at as timestamp) as occurred_at,
        cast(m.received_at as timestamp) as received_at,
        cast(m.max_loaded_at as timestamp) as last_loaded_at,
        cast(m.channel as varchar) as channel,
        cast(m.ai_platform as varchar) as ai_platform,
        cast(m.classification_method as varchar) as classification_method,
        cast(m.classification_conflict as boolean) as classification_conflict,
        cast(m.referrer_url as varchar) as referrer_url,
        cast({{ refract.url_host('m.referrer_url') }} as varchar) as referrer_host,
        cast(m.landing_url as varchar) as landing_url,
        cast(m.utm_source as varchar) as utm_source,
        cast(m.utm_medium as varchar) as utm_medium,
        cast(m.utm_campaign as varchar) as utm_campaign,
        cast(m.utm_term as varchar) as utm_term,
        cast(m.utm_content as varchar) as utm_content,
        cast(m.app_referrer as varchar) as app_referrer,
        cast(m.page_url as varchar) as page_url,
        cast(m.page_path as varchar) as page_path,
        cast(m.device_type as varchar) as device_type,
        cast(m.device_os as varchar) as device_os,
        cast(m.browser as varchar) as browser,
        cast(m.app_version as varchar) as app_version,
        cast(m.locale as varchar) as locale,
        cast(m.plan as varchar) as plan,
        cast(m.order_id as varchar) as order_id,
        cast(m.subscription_id as varchar) as subscription_id,
        cast(m.billing_period as varchar) as billing_period,
        cast(m.trial_id as varchar) as trial_id,
        cast(m.signup_method as varchar) as signup_method,
        cast(m.company_size as varchar) as company_size,
        cast(m.crm as varchar) as crm,
        cast(m.lead_id as varchar) as lead_id,
        cast(m.lifecycle_stage as varchar) as lifecycle_stage,
        cast(m.conversion_value as double) as conversion_value,
        cast(m.currency as varchar) as currency,
        m.event_name in {{ refract.in_list(var('conversion_events')) }} as is_conversion,
        m.synthetic_flag = 1 as is_synthetic
    from merged as m
)

select
    f.*,
    {% if is_incremental() %}
    cast(coalesce(prev.queryable_at, {{ refract.utc_now() }}) as timestamp) as queryable_at
    {% else %}
    cast({{ refract.utc_now() }} as timestamp) as queryable_at
    {% endif %}
from final as f
{% if is_incremental() %}
left join {{ this }} as prev on prev.dedup_key = f.dedup_key
{% endif %}

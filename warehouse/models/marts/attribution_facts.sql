{#- One row per conversion x touch x model. Touches: the converting user's (stitched user_key)
    sessions that started in the attribution_lookback_days before the conversion, up to and
    including the conversion's own session, ordered by start. Weights per conversion and model
    sum to 1: first_touch / last_touch = 1 on the first / last touch; last_non_direct = 1 on the
    last touch whose channel is not direct or internal (the last touch when all are);
    linear = 1/n; position_based = 40/20/40 (n=1: 1; n=2: 0.5 each; else 0.4 first, 0.4 last,
    0.2 shared by the middle); time_decay = 2^(-age/half-life) normalised, age = conversion time
    minus touch start. revenue = weight x the conversion's value. -#}
{{ config(materialized='table') }}

with conversions as (
    select
        dedup_key as conversion_id,
        event_name as conversion_event,
        user_key,
        occurred_at as conversion_at,
        conversion_value,
        currency
    from {{ ref('session_events') }}
    where is_conversion
),

touches as (
    select
        c.*,
        s.session_id as touch_session_id,
        s.started_at as touch_at,
        s.channel,
        s.ai_platform
    from conversions as c
    inner join {{ ref('sessions') }} as s
        on s.user_key = c.user_key
       and s.started_at <= c.conversion_at
       and s.started_at >= {{ dbt.dateadd('day', -1 * var('attribution_lookback_days'), 'c.conversion_at') }}
),

positioned as (
    select
        touches.*,
        row_number() over (partition by conversion_id order by touch_at, touch_session_id) as touch_position,
        count(*) over (partition by conversion_id) as touch_count,
        power(
            2.0,
            -1.0 * {{ refract.ms_between('touch_at', 'conversion_at') }}
                / {{ var('time_decay_half_life_days') * 86400000 }}.0
        ) as decay
    from touches
),

totals as (
    select
        positioned.*,
        sum(decay) over (partition by conversion_id) as decay_total,
        coalesce(
            max(case when channel not in ('direct', 'internal') then touch_position end)
                over (partition by conversion_id),
            touch_count
        ) as last_non_direct_position
    from positioned
),

models as (
    select 'first_touch' as model
    union all select 'last_touch'
    union all select 'last_non_direct'
    union all select 'linear'
    union all select 'position_based'
    union all select 'time_decay'
),

weighted as (
    select
        t.*,
        m.model,
        case m.model
            when 'first_touch' then case when t.touch_position = 1 then 1.0 else 0.0 end
            when 'last_touch' then case when t.touch_position = t.touch_count then 1.0 else 0.0 end
            when 'last_non_direct' then case when t.touch_position = t.last_non_direct_position then 1.0 else 0.0 end
            when 'linear' then 1.0 / t.touch_count
            when 'position_based' then
                case
                    when t.touch_count = 1 then 1.0
                    when t.touch_count = 2 then 0.5
                    when t.touch_position = 1 or t.touch_position = t.touch_count then 0.4
                    else 0.2 / (t.touch_count - 2)
                end
            when 'time_decay' then t.decay / t.decay_total
        end as weight
    from totals as t
    cross join models as m
)

select
    cast(conversion_id as varchar) as conversion_id,
    cast(conversion_event as varchar) as conversion_event,
    cast(user_key as varchar) as user_key,
    cast(conversion_at as timestamp) as conversion_at,
    cast(model as varchar) as model,
    cast(touch_session_id as varchar) as touch_session_id,
    cast(touch_at as timestamp) as touch_at,
    cast(touch_position as bigint) as touch_position,
    cast(touch_count as bigint) as touch_count,
    cast(channel as varchar) as channel,
    cast(ai_platform as varchar) as ai_platform,
    cast(weight as double) as weight,
    cast(weight * conversion_value as double) as revenue,
    cast(currency as varchar) as currency
from weighted

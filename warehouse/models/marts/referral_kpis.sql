{#- Per day (of session start, UTC) x channel x ai_platform of the sessions: sessions, users
    (distinct user_key), signups and conversions (conversion events: signup, trial_started,
    subscription_started) that happened in those sessions, conversion_rate = converting sessions
    / sessions, revenue (conversion values, as sent). Retention: the cohort is the users whose
    FIRST session ever started that day in that channel/platform (new_users); retention_dN =
    share of them with a session starting on calendar day day+N; NULL when day+N is after the
    newest session day (not observable yet) or the cohort is empty. -#}
{{ config(materialized='table') }}

with sessions as (
    select
        s.*,
        cast(s.started_at as date) as day
    from {{ ref('sessions') }} as s
),

activity as (
    select distinct user_key, day from sessions
),

horizon as (
    select max(day) as last_day from sessions
),

flagged as (
    select
        s.*,
        case when s.session_number = 1 then 1 else 0 end as is_new_user,
        case when s.session_number = 1 and a1.user_key is not null then 1 else 0 end as returned_d1,
        case when s.session_number = 1 and a7.user_key is not null then 1 else 0 end as returned_d7,
        case when s.session_number = 1 and a30.user_key is not null then 1 else 0 end as returned_d30
    from sessions as s
    left join activity as a1
        on a1.user_key = s.user_key and a1.day = cast({{ dbt.dateadd('day', 1, 's.day') }} as date)
    left join activity as a7
        on a7.user_key = s.user_key and a7.day = cast({{ dbt.dateadd('day', 7, 's.day') }} as date)
    left join activity as a30
        on a30.user_key = s.user_key and a30.day = cast({{ dbt.dateadd('day', 30, 's.day') }} as date)
),

grouped as (
    select
        day,
        channel,
        ai_platform,
        count(*) as sessions,
        count(distinct user_key) as users,
        sum(signups) as signups,
        sum(conversions) as conversions,
        sum(case when converted then 1 else 0 end) as converted_sessions,
        sum(coalesce(revenue, 0)) as revenue,
        sum(is_new_user) as new_users,
        sum(returned_d1) as returned_d1,
        sum(returned_d7) as returned_d7,
        sum(returned_d30) as returned_d30
    from flagged
    group by day, channel, ai_platform
)

select
    cast(g.day as date) as day,
    cast(g.channel as varchar) as channel,
    cast(g.ai_platform as varchar) as ai_platform,
    cast(g.sessions as bigint) as sessions,
    cast(g.users as bigint) as users,
    cast(g.signups as bigint) as signups,
    cast(g.conversions as bigint) as conversions,
    cast(g.converted_sessions as bigint) as converted_sessions,
    cast(g.converted_sessions * 1.0 / g.sessions as double) as conversion_rate,
    cast(g.revenue as double) as revenue,
    cast(g.new_users as bigint) as new_users,
    {%- for n in [1, 7, 30] %}
    cast(g.returned_d{{ n }} as bigint) as returned_d{{ n }},
    cast(
        case
            when g.new_users = 0 then null
            when cast({{ dbt.dateadd('day', n, 'g.day') }} as date) > h.last_day then null
            else g.returned_d{{ n }} * 1.0 / g.new_users
        end as double
    ) as retention_d{{ n }}{{ "," if not loop.last }}
    {%- endfor %}
from grouped as g
cross join horizon as h

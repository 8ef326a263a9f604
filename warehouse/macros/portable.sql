{#- Small portable helpers the cross-database macros of dbt do not cover. -#}

{#- The current UTC time as a naive timestamp (DuckDB TIMESTAMP, Snowflake TIMESTAMP_NTZ). -#}
{% macro utc_now() -%}
    {{ return(adapter.dispatch('utc_now', 'refract')()) }}
{%- endmacro %}

{% macro default__utc_now() -%}
    cast(timezone('UTC', now()) as timestamp)
{%- endmacro %}

{% macro snowflake__utc_now() -%}
    cast(convert_timezone('UTC', current_timestamp()) as timestamp_ntz)
{%- endmacro %}

{#- Sorted, comma-separated distinct values of a string column (an aggregate). -#}
{% macro distinct_list(column) -%}
    {{ return(adapter.dispatch('distinct_list', 'refract')(column)) }}
{%- endmacro %}

{% macro default__distinct_list(column) -%}
    string_agg(distinct {{ column }}, ',' order by {{ column }})
{%- endmacro %}

{% macro snowflake__distinct_list(column) -%}
    listagg(distinct {{ column }}, ',') within group (order by {{ column }})
{%- endmacro %}

{#- Milliseconds from `start` to `end` (timestamps). -#}
{% macro ms_between(start, end) -%}
    {{ dbt.datediff(start, end, 'millisecond') }}
{%- endmacro %}

{#- The host of a URL string, lowercased, without user info, port or trailing dot; NULL when the
    value has no scheme://host (PARSE_URL is not portable, and fakesnow lacks it). IPv6 literals
    lose everything after their first colon (no rule matches them anyway). -#}
{% macro url_host(url) -%}
    {%- set after_scheme = dbt.split_part("lower(" ~ url ~ ")", "'://'", 2) -%}
    {%- set authority = dbt.split_part(dbt.split_part(dbt.split_part(after_scheme, "'/'", 1), "'?'", 1), "'#'", 1) -%}
    {%- set host_port = "case when position('@' in " ~ authority ~ ") > 0 then " ~ dbt.split_part(authority, "'@'", 2) ~ " else " ~ authority ~ " end" -%}
    case when {{ url }} like '%://%' then nullif(rtrim({{ dbt.split_part(host_port, "':'", 1) }}, '.'), '') end
{%- endmacro %}

{#- 'a','b' list literal from a dbt var list. -#}
{% macro in_list(values) -%}
    ({%- for v in values -%}'{{ v }}'{%- if not loop.last -%}, {% endif -%}{%- endfor -%})
{%- endmacro %}

{#- The value of `column` on the row with the smallest `rank` among rows where it is not null
    (an aggregate; NULL when every row's value is null). -#}
{% macro first_by(column, rank) -%}
    {{ return(adapter.dispatch('first_by', 'refract')(column, rank)) }}
{%- endmacro %}

{% macro default__first_by(column, rank) -%}
    arg_min({{ column }}, case when {{ column }} is not null then {{ rank }} end)
{%- endmacro %}

{% macro snowflake__first_by(column, rank) -%}
    min_by({{ column }}, case when {{ column }} is not null then {{ rank }} end)
{%- endmacro %}

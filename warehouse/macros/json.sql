{#- JSON path extraction: the one place where DuckDB (JSON column, json_extract_string) and
    Snowflake (VARIANT, col:path::type) differ. `path` is a dotted path of plain keys, e.g.
    'user.user_id' or 'referral.classification.channel'. Missing paths give NULL. -#}

{% macro json_str(column, path) -%}
    {{ return(adapter.dispatch('json_str', 'refract')(column, path)) }}
{%- endmacro %}

{% macro default__json_str(column, path) -%}
    json_extract_string({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro snowflake__json_str(column, path) -%}
    {{ column }}:{{ path }}::varchar
{%- endmacro %}

{% macro json_num(column, path) -%}
    {{ return(adapter.dispatch('json_num', 'refract')(column, path)) }}
{%- endmacro %}

{% macro default__json_num(column, path) -%}
    try_cast(json_extract_string({{ column }}, '$.{{ path }}') as double)
{%- endmacro %}

{% macro snowflake__json_num(column, path) -%}
    {{ column }}:{{ path }}::float
{%- endmacro %}

{% macro json_bool(column, path) -%}
    {{ return(adapter.dispatch('json_bool', 'refract')(column, path)) }}
{%- endmacro %}

{% macro default__json_bool(column, path) -%}
    try_cast(json_extract_string({{ column }}, '$.{{ path }}') as boolean)
{%- endmacro %}

{% macro snowflake__json_bool(column, path) -%}
    {{ column }}:{{ path }}::boolean
{%- endmacro %}

{#- Schema names are a contract with the loader, the runner and the report (raw, conformed,
    marts, dq): a model's +schema is used verbatim, never prefixed with the target schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema | trim }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}

{#- Status of a data-quality measure where lower is better: pass up to the threshold, warn up
    to twice it, fail above. -#}
{% macro dq_status(value, threshold) -%}
    case
        when {{ value }} is null then 'pass'
        when {{ value }} <= {{ threshold }} then 'pass'
        when {{ value }} <= 2 * {{ threshold }} then 'warn'
        else 'fail'
    end
{%- endmacro %}

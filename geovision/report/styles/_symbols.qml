{#- Jinja2 macro: one QGIS symbol (fill or line) named `name` with an RGBA colour "r,g,b,a". -#}
{% macro symbol(kind, name, color, outline="60,60,60,255") -%}
      <symbol type="{{ kind }}" name="{{ name }}" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="{{ 'SimpleFill' if kind == 'fill' else 'SimpleLine' }}" enabled="1" locked="0" pass="0">
          <Option type="Map">
{%- if kind == 'fill' %}
            <Option name="color" type="QString" value="{{ color }}"/>
            <Option name="outline_color" type="QString" value="{{ outline }}"/>
            <Option name="outline_width" type="QString" value="0.2"/>
            <Option name="style" type="QString" value="solid"/>
{%- else %}
            <Option name="line_color" type="QString" value="{{ color }}"/>
            <Option name="line_width" type="QString" value="0.8"/>
            <Option name="line_style" type="QString" value="solid"/>
{%- endif %}
          </Option>
        </layer>
      </symbol>
{%- endmacro %}

{%- from "_symbols.qml" import symbol -%}
<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
  <renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0">
    <rules key="root">
{%- for rule in rules %}
      <rule key="rule{{ loop.index0 }}" filter="{{ rule.filter }}" label="{{ rule.label }}" symbol="{{ loop.index0 }}"/>
{%- endfor %}
    </rules>
    <symbols>
{%- for rule in rules %}
{{ symbol(kind, loop.index0, rule.color) }}
{%- endfor %}
    </symbols>
  </renderer-v2>
  <layerGeometryType>{{ 2 if kind == 'fill' else 1 }}</layerGeometryType>
{%- if raster %}
{{ raster|safe }}
{%- endif %}
</qgis>

{%- from "_symbols.qml" import symbol -%}
<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.28.0" styleCategories="Symbology">
  <renderer-v2 type="graduatedSymbol" attr="{{ field }}" graduatedMethod="GraduatedColor" symbollevels="0" enableorderby="0" forceraster="0">
    <ranges>
{%- for r in ranges %}
      <range lower="{{ r.lower }}" upper="{{ r.upper }}" label="{{ r.label }}" symbol="{{ loop.index0 }}" render="true"/>
{%- endfor %}
    </ranges>
    <symbols>
{%- for r in ranges %}
{{ symbol(kind, loop.index0, r.color) }}
{%- endfor %}
    </symbols>
  </renderer-v2>
  <layerGeometryType>{{ 2 if kind == 'fill' else 1 }}</layerGeometryType>
</qgis>

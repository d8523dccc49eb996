{%- from "_symbols.qml" import symbol -%}
<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
  <renderer-v2 type="categorizedSymbol" attr="{{ field }}" symbollevels="0" enableorderby="0" forceraster="0">
    <categories>
{%- for category in categories %}
      <category value="{{ category.value }}" label="{{ category.label }}" symbol="{{ loop.index0 }}" render="true"/>
{%- endfor %}
    </categories>
    <symbols>
{%- for category in categories %}
{{ symbol(kind, loop.index0, category.color) }}
{%- endfor %}
    </symbols>
  </renderer-v2>
  <layerGeometryType>{{ 2 if kind == 'fill' else 1 }}</layerGeometryType>
</qgis>

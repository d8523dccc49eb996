{%- if not pipe_only %}<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
{%- endif %}
  <pipe>
    <rasterrenderer type="singlebandpseudocolor" band="{{ band }}" opacity="{{ opacity }}" alphaBand="-1" classificationMin="{{ stops[0].value }}" classificationMax="{{ stops[-1].value }}" nodataColor="">
      <rastershader>
        <colorrampshader colorRampType="{{ ramp_type }}" classificationMode="1" clip="0" minimumValue="{{ stops[0].value }}" maximumValue="{{ stops[-1].value }}">
{%- for stop in stops %}
          <item value="{{ stop.value }}" label="{{ stop.label }}" color="{{ stop.color }}" alpha="{{ stop.alpha }}"/>
{%- endfor %}
        </colorrampshader>
      </rastershader>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
  </pipe>
  <blendMode>0</blendMode>
{%- if not pipe_only %}
</qgis>
{%- endif %}

"""The run's report and GIS packaging: ``report.html``, ``geovision.gpkg`` + QGIS styles, STAC catalog.

Entry point: :func:`geovision.report.build.build_report` (used by the pipeline's report stage).
Modules: ``figures`` (headline numbers from run.json), ``package`` (GeoPackage, GeoJSON,
styles), ``styles`` (QML templates), ``stac`` (catalog + offline validation), ``html``
(the page), ``quicklook`` and ``plots`` (images).
"""

"""The last stage of ``geovision run``: the report and the GIS package of the run folder."""

from __future__ import annotations

from geovision.pipeline.stage import Run, Stage
from geovision.runrecord import StageRecord

#: every stage before the report (its figures are what the report shows)
REPORTED = ("inputs", "reference", "adapt", "segment", "vectorize", "impact_buildings", "impact_roads", "evaluate")


def _report(run: Run, record: StageRecord) -> None:
    """``report.html``, ``geovision.gpkg`` (+ ``gis/`` GeoJSON and QGIS styles) and ``stac/catalog.json``."""
    from geovision.report.build import build_report

    result = build_report(run.out, run.record)
    record.outputs = {name: str(path) for name, path in result.files.items()}
    record.figures = {"layers": result.layers}


report = Stage("report", _report, upstream=REPORTED, doc=_report.__doc__ or "")

"""The last stage of ``geovision run``: the report and the GIS package of the run folder."""

from __future__ import annotations

from geovision.pipeline.run import Run, StageRecord


def report(run: Run) -> StageRecord:
    """``report.html``, ``geovision.gpkg`` (+ ``gis/`` GeoJSON and QGIS styles) and ``stac/catalog.json``."""
    depends = {name: record.key for name, record in run.stages.items() if name != "report"}

    def body(record: StageRecord) -> None:
        from geovision.report.build import build_report
        from geovision.report.figures import read_run_record

        run.save()  # run.json must hold every earlier stage: the page's numbers are read from it
        document = read_run_record(run.out)
        result = build_report(run.out, document)
        record.outputs = {name: str(path) for name, path in result.files.items()}
        record.figures = {"layers": result.layers}

    return run.stage("report", depends, body)

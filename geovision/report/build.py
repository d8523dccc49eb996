"""Everything the report stage writes into a run folder, in order: GIS package, HTML page, STAC catalog."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geovision.errors import MissingFileError
from geovision.report import package
from geovision.report.html import render_report
from geovision.report.stac import build_catalog
from geovision.runrecord import RunRecord


@dataclass
class ReportOutputs:
    files: dict[str, Path] = field(default_factory=dict)
    layers: dict[str, int] = field(default_factory=dict)


def build_report(
    run_dir: str | os.PathLike[str], record: RunRecord | dict[str, Any], *, max_px: int = 1024
) -> ReportOutputs:
    """Write ``geovision.gpkg``, ``gis/``, COG styles, ``report.html`` and ``stac/catalog.json`` into ``run_dir``.

    ``record`` is the run's record (or its ``document()``); the STAC catalog comes last so that
    it describes every other file, the report included.
    """
    run_dir = Path(run_dir)
    if isinstance(record, RunRecord):
        record = record.document()
    pre = record.get("inputs", {}).get("pre")
    if not pre or not Path(pre).exists():
        raise MissingFileError(
            "the run's pre-event image is not there any more",
            path=pre or run_dir,
            fix="rerun `geovision run` so the report can draw its quicklooks",
        )
    layers = package.collect_layers(record)
    packaged = package.package_run(run_dir, record, layers=layers)
    out = ReportOutputs(files=dict(packaged.files), layers=dict(packaged.layers))
    out.files["report_html"] = render_report(run_dir, record, max_px=max_px, layers=layers)
    out.files["stac_catalog"] = build_catalog(run_dir, record, footprint=pre)
    return out

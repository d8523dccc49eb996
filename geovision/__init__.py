"""geovision: disaster impact from before/after satellite imagery.

The Python API, imported lazily (``import geovision`` stays fast and imports no torch)::

    import geovision as gv

    config = gv.RunConfig(grid={"cell_px": 128})  # the options of `geovision run`, by section
    run = gv.run_pipeline(gv.materialise("demo"), "out/demo", config)  # every stage, as `geovision run demo`
    results = gv.open_run("out/demo")  # grids, buildings, roads, units, figures
    segmenter = gv.Segmenter.from_bundle("default")  # the model on in-memory arrays
    probabilities = segmenter.predict(chip)  # {"buildings": (H, W), "roads": (H, W)}
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> module that defines it (imported on first use)
API = {
    "run_pipeline": "geovision.pipeline.run",
    "RunConfig": "geovision.runconfig",
    "EventInputs": "geovision.pipeline.events",
    "materialise": "geovision.pipeline.events",
    "open_run": "geovision.results",
    "RunResults": "geovision.results",
    "RunRecord": "geovision.runrecord",
    "segment_scene": "geovision.inference.engine",
    "SegmentOptions": "geovision.inference.engine",
    "Segmenter": "geovision.inference.segmenter",
    "compute_dii_grid": "geovision.impact.dii",
    "open_raster": "geovision.io.raster",
    "align_pair": "geovision.io.align",
    "GeovisionError": "geovision.errors",
}
__all__ = ["__version__", *API]


def __getattr__(name: str) -> Any:
    if name not in API:
        raise AttributeError(f"module 'geovision' has no attribute {name!r}")
    value = getattr(importlib.import_module(API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

"""geovision: disaster impact from before/after satellite imagery.

The Python API, imported lazily (``import geovision`` stays fast and imports no torch)::

    import geovision as gv

    run = gv.run_pipeline(gv.materialise("demo"), "out/demo")  # every stage, as `geovision run demo`
    results = gv.open_run("out/demo")  # grids, buildings, roads, units, figures
    segmenter = gv.Segmenter.from_bundle("default")  # the model on in-memory arrays
    probabilities = segmenter.predict(chip)  # {"buildings": (H, W), "roads": (H, W)}
"""

from __future__ import annotations

import importlib
import os
from typing import Any

__version__ = "0.1.0"

#: GDAL's block cache defaults to 5 % of the machine's RAM and fills as a scene streams through
#: it, so peak memory grew with scene size (3.4 GB for a 10240 px pair on a 24 GB machine).
#: Windows are read once, so a small cache costs nothing; GDAL reads this when it first caches a
#: block, so it is set on import, before any raster is opened. A value the user exported wins.
GDAL_CACHE_MB = 128
os.environ.setdefault("GDAL_CACHEMAX", str(GDAL_CACHE_MB))

#: public name -> module that defines it (imported on first use)
API = {
    "run_pipeline": "geovision.pipeline.run",
    "RunOptions": "geovision.pipeline.options",
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

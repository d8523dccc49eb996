"""Raster and vector I/O (rasterio, geopandas). Never imports torch.

- :mod:`~geovision.io.raster`: ``open_raster`` -> ``RasterSource`` (validation, window reads, valid mask)
- :mod:`~geovision.io.align`: ``align_pair`` -> ``AlignedPair`` (pre/post on one grid via WarpedVRT)
- :mod:`~geovision.io.windows`: ``plan_windows`` (overlapping chips whose crops tile a scene once)
- :mod:`~geovision.io.cog`: ``write_cog``, ``StreamingCogWriter``, ``validate_cog``
- :mod:`~geovision.io.vectors`: ``read_vectors``, ``write_vectors`` (GeoPackage, RFC 7946 GeoJSON)
- :mod:`~geovision.io.labels`: xBD JSON, mask PNGs, georeferencing xBD PNGs, rasterising vectors
- :mod:`~geovision.io.scaling`: per-band value scaling; :mod:`~geovision.io.atomic`: atomic outputs

The names below are importable from ``geovision.io`` directly; submodules load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "open_raster": "raster",
    "RasterSource": "raster",
    "align_pair": "align",
    "AlignedPair": "align",
    "plan_windows": "windows",
    "ChipWindow": "windows",
    "write_cog": "cog",
    "StreamingCogWriter": "cog",
    "validate_cog": "cog",
    "read_vectors": "vectors",
    "write_vectors": "vectors",
    "read_xbd_json": "labels",
    "fit_xbd_affine": "labels",
    "georeference_png": "labels",
    "read_mask_png": "labels",
    "rasterize_vectors": "labels",
    "Scaling": "scaling",
    "atomic_output": "atomic",
    "check_output": "atomic",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'geovision.io' has no attribute {name!r}")
    return getattr(importlib.import_module(f"geovision.io.{module}"), name)

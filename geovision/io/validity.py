"""How much of an image holds data: its valid share, measured on a decimated read (bounded memory)."""

from __future__ import annotations

import os

import numpy as np
import rasterio

from geovision.errors import CorruptFileError

LOW_VALID_SHARE = 0.5  # below this, a run warns that much of the scene has no data
SAMPLE_PX = 1024  # the longest side of the decimated read


def valid_share(path: str | os.PathLike[str], *, bands: tuple[int, ...] | None = None) -> float:
    """The share of an image's pixels that hold data (its GDAL mask, read decimated to SAMPLE_PX)."""
    try:
        with rasterio.open(path) as src:
            scale = max(1.0, max(src.width, src.height) / SAMPLE_PX)
            shape = (max(1, round(src.height / scale)), max(1, round(src.width / scale)))
            # bad --bands are ignored here: the engine reports them
            chosen = [b for b in bands or () if 1 <= b <= src.count] or range(1, src.count + 1)
            masks = [src.read_masks(b, out_shape=shape) for b in chosen]
            data = src.read(1, out_shape=shape, masked=False) if src.dtypes[0].startswith("float") else None
    except rasterio.errors.RasterioError as error:
        raise CorruptFileError(
            f"not a readable raster ({error})",
            path=path,
            fix="check that it is a complete GeoTIFF (gdalinfo) or re-export it",
        ) from error
    valid = np.logical_and.reduce([m > 0 for m in masks])
    if data is not None:  # NaN/inf floats count as no data even without a declared nodata
        valid &= np.isfinite(data)
    return float(valid.mean())

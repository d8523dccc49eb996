"""The one GeoTIFF writer of the tests: seeded arrays in, small georeferenced files out.

Import it as ``from tests.rasters import write_geotiff`` (``tests`` is a package).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import ColorInterp

UTM = "EPSG:32615"  # UTM zone 15N (Joplin's): the CRS of most test rasters
ORIGIN = (365_800.0, 4_103_200.0)  # default top-left corner (x, y) in UTM 15N, near Joplin


def north_up(res_m: float = 0.5, origin: tuple[float, float] = ORIGIN) -> Affine:
    """The transform of a north-up grid of ``res_m`` pixels whose top-left corner is ``origin``."""
    return Affine(res_m, 0.0, origin[0], 0.0, -res_m, origin[1])


def write_geotiff(
    path: str | Path,
    array: np.ndarray,
    *,
    crs: str | None = UTM,
    transform: Affine | None = None,
    res_m: float = 0.5,
    origin: tuple[float, float] = ORIGIN,
    nodata: float | None = None,
    block_px: int | None = None,
    alpha: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    colorinterp: Sequence[ColorInterp] | None = None,
    descriptions: Sequence[str] | None = None,
    **profile: Any,
) -> Path:
    """Write ``array`` (``[bands, h, w]`` or ``[h, w]``) as a GeoTIFF; returns ``Path(path)``.

    - grid: ``transform``, else north-up ``res_m`` pixels from ``origin``; ``crs=None`` writes no CRS;
    - ``nodata``: the declared nodata value (none by default: 0 is data unless the file says so);
    - ``block_px``: tiled in square blocks of that size (default: strips, GDAL's default);
    - ``alpha``: an extra alpha band; ``mask``: an internal GDAL mask (true = valid);
    - ``colorinterp``, ``descriptions``: the bands' colour interpretation and descriptions;
    - ``profile``: any other creation option, e.g. ``compress="deflate"``.
    """
    path = Path(path)
    array = array[None] if array.ndim == 2 else array
    count, height, width = array.shape
    options: dict[str, Any] = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count + (alpha is not None),
        "dtype": array.dtype.name,
        "crs": crs,
        "transform": transform if transform is not None else north_up(res_m, origin),
        "nodata": nodata,
    }
    if block_px is not None:
        options.update(tiled=True, blockxsize=block_px, blockysize=block_px)
    rgba = alpha is not None and count == 3
    if rgba:
        options.update(photometric="RGB", alpha="YES")
    options.update(profile)
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(path, "w", **options) as dst:
        dst.write(array, list(range(1, count + 1)))
        if alpha is not None:
            dst.write(alpha.astype(array.dtype), count + 1)
            if not rgba:
                dst.colorinterp = [*dst.colorinterp[:-1], ColorInterp.alpha]
        if mask is not None:
            dst.write_mask(np.where(mask, 255, 0).astype(np.uint8))
        if colorinterp is not None:
            dst.colorinterp = list(colorinterp)
        for band, text in enumerate(descriptions or (), start=1):
            dst.set_band_description(band, text)
    return path

"""Metric units for vectors and rasters: metric CRS, areas and lengths in metres, pixel size in metres."""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
from affine import Affine
from numpy.typing import ArrayLike

from geovision.errors import ConfigError

#: metres per degree of latitude (mean), for approximate geographic pixel sizes
METRES_PER_DEGREE = 111_320.0


def pixel_xy(transform: Affine, cols: ArrayLike, rows: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """CRS coordinates of pixel positions ``(cols, rows)`` (arrays; ``+ 0.5`` for pixel centres).

    ``transform @ (cols, rows)`` computes the same, but affine's type hints know scalars only.
    """
    cols, rows = np.asarray(cols, dtype=np.float64), np.asarray(rows, dtype=np.float64)
    return transform.a * cols + transform.b * rows + transform.c, transform.d * cols + transform.e * rows + transform.f


def metric_crs(gdf: gpd.GeoDataFrame) -> Any:
    """A metric CRS for areas and lengths: the frame's own if projected, else its local UTM zone."""
    if gdf.crs is None:
        raise ConfigError(
            "geometries have no CRS, so areas and lengths in metres cannot be computed",
            fix="give the data a CRS (a georeferenced raster or a vector file with a CRS)",
        )
    if gdf.crs.is_projected:
        return gdf.crs
    return gdf.estimate_utm_crs()


def metre_factor(crs: Any) -> float:
    """Metres per unit of a projected CRS's first axis (1.0 for metres)."""
    return crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0


def _metric(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoSeries, float]:
    crs = metric_crs(gdf)
    return (gdf.geometry if crs == gdf.crs else gdf.geometry.to_crs(crs)), metre_factor(crs)


def area_m2(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Area of every geometry in square metres (computed in a metric CRS)."""
    if len(gdf) == 0:
        return np.zeros(0)
    geoms, factor = _metric(gdf)
    return geoms.area.to_numpy() * factor**2


def length_m(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Length of every geometry in metres (computed in a metric CRS)."""
    if len(gdf) == 0:
        return np.zeros(0)
    geoms, factor = _metric(gdf)
    return geoms.length.to_numpy() * factor


def pixel_size_m(transform: Affine, crs: Any = None) -> float:
    """Pixel side in metres (geometric mean of x and y); approximate for a geographic CRS (at the origin row)."""
    size = math.sqrt(abs(transform.a * transform.e))
    if crs is None:
        return size
    from rasterio.crs import CRS

    crs = CRS.from_user_input(crs)
    if crs.is_geographic:
        return size * METRES_PER_DEGREE * math.sqrt(max(math.cos(math.radians(transform.f)), 1e-6))
    return size * (crs.linear_units_factor[1] if crs.linear_units_factor else 1.0)


def metres_per_map_unit(transform: Affine, crs: Any) -> float:
    """Metres per CRS unit near the raster (1 for metric CRSs, ~111 km per degree for geographic ones)."""
    return pixel_size_m(transform, crs) / math.sqrt(abs(transform.a * transform.e))

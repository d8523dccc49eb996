"""Vector outputs made light: outlines simplified below half a pixel, property values rounded.

Raster outlines are pixel staircases; a topology-preserving simplification with a tolerance
under half a pixel drops the redundant vertices without moving an edge by more than the
raster's own uncertainty. Areas, lengths and every metric are computed before, on the
unsimplified geometry.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from affine import Affine

HALF_PIXEL_SHARE = 0.45  # tolerance as a share of the pixel side (strictly below half a pixel)


def simplify_outlines(
    frame: gpd.GeoDataFrame, transform: Affine, *, share: float = HALF_PIXEL_SHARE, digits: int = 4
) -> gpd.GeoDataFrame:
    """A copy of ``frame`` (in the raster's CRS) with geometries simplified by ``share`` x the pixel side.

    Float columns are rounded to ``digits`` decimals.
    """
    if not 0 < share < 0.5:
        raise ValueError(f"share must be in (0, 0.5), got {share!r}")
    out = frame.copy()
    tolerance = share * min(abs(transform.a), abs(transform.e))
    out[out.geometry.name] = out.geometry.simplify(tolerance, preserve_topology=True)
    for column in out.columns:
        if column != out.geometry.name and out[column].dtype.kind == "f":
            out[column] = np.round(out[column].to_numpy(), digits)
    return out

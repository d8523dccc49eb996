"""CRS helpers: metric CRS choice and the UTM zone of a place."""

from __future__ import annotations

import math

from rasterio.crs import CRS
from rasterio.errors import CRSError


def utm_crs_for(lon: float, lat: float) -> CRS:
    """The WGS 84 UTM zone CRS (EPSG:326xx north, 327xx south) that contains ``lon, lat``."""
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValueError(f"({lon}, {lat}) is not a longitude/latitude pair")
    zone = min(int(math.floor((lon + 180.0) / 6.0)) + 1, 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def is_metric(crs: CRS) -> bool:
    """True for a projected CRS whose linear unit is the metre."""
    if not crs.is_projected:
        return False
    try:
        unit, factor = crs.linear_units_factor
    except CRSError:
        return False
    return math.isclose(factor, 1.0) and unit.lower() in {"metre", "meter", "m"}

"""Area of interest (AOI): the union of the polygons of a vector file, and its pixel mask per window.

Any OGR vector file in any CRS (GeoPackage, GeoJSON, Shapefile ...); every layer with
geometries is read and every polygonal part kept. Masks are computed window by window,
never for a whole scene.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import shapely
from affine import Affine
from rasterio.crs import CRS
from rasterio.features import geometry_mask
from shapely.geometry.base import BaseGeometry

from geovision.errors import ConfigError, GeoreferenceError

AoiLike = Union[str, "os.PathLike[str]", tuple[BaseGeometry, Any], "Aoi"]
POLYGONAL = ("Polygon", "MultiPolygon")
DENSIFY_SEGMENTS = 64  # reproject edges as this many pieces of the AOI's extent (curved in the target CRS)


def _polygons(geometry: BaseGeometry | None) -> list[BaseGeometry]:
    if geometry is None or geometry.is_empty:
        return []
    if geometry.geom_type in POLYGONAL:
        geometry = shapely.make_valid(geometry)  # may become a collection (polygons + slivers)
        if geometry.geom_type in POLYGONAL:
            return [geometry]
    if geometry.geom_type == "GeometryCollection":
        return [part for child in geometry.geoms for part in _polygons(child)]
    return []


def load_aoi(path: str | os.PathLike[str]) -> tuple[BaseGeometry, CRS]:
    """The union of all polygons of all layers of ``path``, and their CRS.

    Raises MissingFileError / CorruptFileError (unreadable), GeoreferenceError (no CRS)
    and ConfigError (no polygon geometries).
    """
    import pyogrio

    from geovision.io.vectors import list_layers, read_vectors

    list_layers(path)  # raises for a missing or unreadable file
    layers = [str(name) for name, kind in pyogrio.list_layers(path) if kind is not None]
    parts: list[BaseGeometry] = []
    found: set[str] = set()
    crs: CRS | None = None
    for layer in layers:
        frame = read_vectors(path, layer=layer)
        if crs is None:
            crs = CRS.from_user_input(frame.crs)
        elif CRS.from_user_input(frame.crs) != crs:
            frame = frame.to_crs(crs)
        found.update(str(kind) for kind in frame.geom_type.dropna().unique())
        parts.extend(part for geometry in frame.geometry for part in _polygons(geometry))
    if not parts:
        seen = ", ".join(sorted(found)) or "no geometries"
        raise ConfigError(
            f"AOI file has no polygon geometries ({seen})",
            path=path,
            fix="give a layer of polygons for --aoi (draw the area, or buffer points/lines first)",
        )
    return shapely.union_all(parts), crs


def to_crs(geometry: BaseGeometry, src: Any, dst: Any) -> BaseGeometry:
    """``geometry`` reprojected from ``src`` to ``dst`` (edges densified so they stay true)."""
    src, dst = CRS.from_user_input(src), CRS.from_user_input(dst)
    if src == dst:
        return geometry
    from pyproj import Transformer

    transformer = Transformer.from_crs(src, dst, always_xy=True)
    xmin, ymin, xmax, ymax = geometry.bounds
    step = max(xmax - xmin, ymax - ymin) / DENSIFY_SEGMENTS
    dense = shapely.segmentize(geometry, step) if step > 0 else geometry
    projected = shapely.transform(dense, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
    parts = _polygons(projected) if np.isfinite(projected.bounds).all() else []
    if not parts:
        raise GeoreferenceError(f"AOI cannot be expressed in {dst.to_string()}", fix="check the AOI's CRS")
    return shapely.union_all(parts)


@dataclass(frozen=True)
class Aoi:
    """An AOI geometry, its CRS, and a label for messages (the file's path)."""

    geometry: BaseGeometry
    crs: CRS
    label: str = "AOI geometry"

    def in_crs(self, crs: Any) -> BaseGeometry:
        return to_crs(self.geometry, self.crs, crs)


def resolve_aoi(aoi: AoiLike) -> Aoi:
    """An :class:`Aoi` from a path (read with :func:`load_aoi`), a ``(geometry, crs)`` pair or an Aoi."""
    if isinstance(aoi, Aoi):
        return aoi
    if isinstance(aoi, tuple):
        geometry, crs = aoi
        if crs is None:
            raise GeoreferenceError("AOI geometry has no CRS", fix="pass (geometry, crs) with the geometry's CRS")
        parts = _polygons(geometry)
        if not parts:
            raise ConfigError(f"AOI geometry is not polygonal ({geometry.geom_type})", fix="pass a (multi)polygon")
        return Aoi(shapely.union_all(parts), CRS.from_user_input(crs))
    geometry, crs = load_aoi(aoi)
    return Aoi(geometry, crs, os.fspath(aoi))


def aoi_mask(geometry: BaseGeometry, transform: Affine, height: int, width: int) -> np.ndarray:
    """Bool ``[height, width]``: true where the pixel centre lies inside ``geometry`` (same CRS as ``transform``)."""
    if height <= 0 or width <= 0:
        return np.zeros((max(height, 0), max(width, 0)), bool)
    corners = [transform @ (c, r) for c, r in ((0, 0), (width, 0), (width, height), (0, height))]
    window = shapely.Polygon(corners)
    shapely.prepare(geometry)
    if geometry.contains(window):
        return np.ones((height, width), bool)
    if not geometry.intersects(window):
        return np.zeros((height, width), bool)
    clipped = geometry.intersection(window.buffer(abs(transform.a) + abs(transform.b) + abs(transform.e)))
    if clipped.is_empty:
        return np.zeros((height, width), bool)
    return geometry_mask([clipped], out_shape=(height, width), transform=transform, invert=True)


def aoi_window(geometry: BaseGeometry, transform: Affine, width: int, height: int) -> tuple[int, int, int, int] | None:
    """``(col_off, row_off, width, height)``: the pixels of a ``width`` x ``height`` grid whose centre lies
    in the bounds of ``geometry`` (in the grid's CRS), clipped to the grid; None when the AOI misses the grid."""
    pixels = shapely.transform(geometry, lambda xy: np.column_stack((~transform) @ (xy[:, 0], xy[:, 1])))
    if not pixels.intersects(shapely.box(0, 0, width, height)):
        return None
    xmin, ymin, xmax, ymax = pixels.bounds
    tol = 1e-6
    col0, row0 = max(int(np.ceil(xmin - 0.5 - tol)), 0), max(int(np.ceil(ymin - 0.5 - tol)), 0)
    col1 = min(int(np.floor(xmax - 0.5 + tol)) + 1, width)
    row1 = min(int(np.floor(ymax - 0.5 + tol)) + 1, height)
    if col1 <= col0 or row1 <= row0:
        return None
    return col0, row0, col1 - col0, row1 - row0

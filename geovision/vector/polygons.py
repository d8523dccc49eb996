"""Building polygons from a binary mask: polygonise, filter by area in m², simplify, regularise."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from rasterio import features

from geovision.errors import ConfigError
from geovision.vector.units import metre_factor, metric_crs

#: a polygon whose area fills at least this share of its minimum rotated rectangle becomes that rectangle
RECTANGULARITY = 0.8


def regularize(geometry: shapely.Geometry, rectangularity: float = RECTANGULARITY) -> shapely.Geometry:
    """Replace a nearly rectangular polygon by its minimum rotated rectangle; keep others."""
    if geometry.is_empty or geometry.geom_type != "Polygon":
        return geometry
    box = shapely.minimum_rotated_rectangle(geometry)
    if box.area > 0 and geometry.area / box.area >= rectangularity:
        return box
    return geometry


def shapes_from_mask(mask: np.ndarray, transform: Affine, *, connectivity: int = 4) -> list[shapely.Geometry]:
    """Polygons of the true pixels of ``mask`` (rasterio.features.shapes), made valid."""
    mask = np.asarray(mask).astype(np.uint8)
    geoms = [
        shapely.geometry.shape(geom)
        for geom, value in features.shapes(mask, mask=mask > 0, transform=transform, connectivity=connectivity)
        if value == 1
    ]
    return [shapely.make_valid(g) if not g.is_valid else g for g in geoms]


def polygonize_buildings(
    mask: np.ndarray,
    *,
    transform: Affine,
    crs: Any,
    min_area_m2: float = 0.0,
    simplify_m: float = 0.0,
    regularize_shapes: bool = False,
    connectivity: int = 4,
) -> gpd.GeoDataFrame:
    """Building footprints from a binary mask, with ``area_m2`` and a ``building_id``.

    ``min_area_m2`` drops specks (area computed in a metric CRS even when the mask
    is geographic); ``simplify_m`` is a topology-preserving tolerance in metres;
    ``regularize_shapes`` turns nearly rectangular footprints into rectangles.
    Every output geometry is a valid Polygon.
    """
    if min_area_m2 < 0 or simplify_m < 0:
        raise ConfigError(
            "min_area_m2 and simplify_m must be >= 0", fix="pass --min-area-m2 and --simplify-m as non-negative numbers"
        )
    gdf = gpd.GeoDataFrame(geometry=shapes_from_mask(mask, transform, connectivity=connectivity), crs=crs)
    return clean_polygons(gdf, min_area_m2=min_area_m2, simplify_m=simplify_m, regularize_shapes=regularize_shapes)


def clean_polygons(
    gdf: gpd.GeoDataFrame, *, min_area_m2: float = 0.0, simplify_m: float = 0.0, regularize_shapes: bool = False
) -> gpd.GeoDataFrame:
    """Explode to Polygons, simplify/regularise in a metric CRS, filter by area, number them."""
    gdf = gdf[~gdf.geometry.is_empty].explode(index_parts=False)
    gdf = gdf[gdf.geom_type == "Polygon"].reset_index(drop=True)
    if len(gdf) == 0:
        return gpd.GeoDataFrame(
            {"building_id": np.zeros(0, dtype=np.int64), "area_m2": np.zeros(0)},
            geometry=gpd.GeoSeries([], crs=gdf.crs),
            crs=gdf.crs,
        )
    crs = metric_crs(gdf)
    metric = gdf.to_crs(crs) if crs != gdf.crs else gdf
    geoms = metric.geometry
    if simplify_m > 0:
        geoms = geoms.simplify(simplify_m, preserve_topology=True)
    if regularize_shapes:
        geoms = gpd.GeoSeries([regularize(g) for g in geoms], crs=crs)
    geoms = gpd.GeoSeries(shapely.make_valid(geoms.to_numpy()), crs=crs)
    out = gpd.GeoDataFrame(geometry=geoms, crs=crs).explode(index_parts=False)
    out = out[out.geom_type == "Polygon"]
    out["area_m2"] = out.geometry.area * metre_factor(crs) ** 2
    out = out[out["area_m2"] >= min_area_m2]
    if crs != gdf.crs:
        out = out.to_crs(gdf.crs)
    out = out.reset_index(drop=True)
    out.insert(0, "building_id", np.arange(len(out), dtype=np.int64))
    return out


def polygonize_raster(
    path: Any,
    *,
    tau: float = 0.5,
    min_area_m2: float = 0.0,
    simplify_m: float = 0.0,
    regularize_shapes: bool = False,
    window_px: int = 4096,
) -> gpd.GeoDataFrame:
    """Building footprints from a mask or probability raster file, window by window.

    Pixels ``>= tau`` and valid are buildings. Pieces touching an inner window edge are
    merged with their neighbours across it (pixel-aligned edges union exactly).
    """
    from geovision.io.raster import open_raster
    from geovision.io.windows import plan_windows

    with open_raster(path, bands=[1]) as raster:
        final: list[shapely.Geometry] = []
        pending: list[shapely.Geometry] = []
        for chip in plan_windows(raster.width, raster.height, chip_px=window_px):
            window = chip.crop
            data, valid = raster.read(window)
            mask = (data[0] >= tau) & valid
            if not mask.any():
                continue
            win_transform = raster.transform @ Affine.translation(window.col_off, window.row_off)
            inner = _inner_edges(window, raster.width, raster.height, win_transform)
            for geom in shapes_from_mask(mask, win_transform):
                (pending if inner is not None and geom.intersects(inner) else final).append(geom)
        if pending:
            final.extend(shapely.get_parts(shapely.union_all(pending)))
        gdf = gpd.GeoDataFrame(geometry=final, crs=raster.crs)
    return clean_polygons(gdf, min_area_m2=min_area_m2, simplify_m=simplify_m, regularize_shapes=regularize_shapes)


def _inner_edges(window: Any, width: int, height: int, transform: Affine) -> shapely.Geometry | None:
    """The window's edges that are not the raster's edges, as lines in map coordinates."""
    corners = {"tl": (0, 0), "tr": (window.width, 0), "bl": (0, window.height), "br": (window.width, window.height)}
    xy = {k: transform @ v for k, v in corners.items()}
    edges = []
    if window.col_off > 0:
        edges.append((xy["tl"], xy["bl"]))
    if window.row_off > 0:
        edges.append((xy["tl"], xy["tr"]))
    if window.col_off + window.width < width:
        edges.append((xy["tr"], xy["br"]))
    if window.row_off + window.height < height:
        edges.append((xy["bl"], xy["br"]))
    return shapely.MultiLineString(edges) if edges else None

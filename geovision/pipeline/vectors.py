"""Vector outputs of a run: building footprints with a `lost` flag, road centre lines.

A building (polygonised from the pre mask) is lost when less than ``keep_fraction``
of its pixels are still predicted as building after the event.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from rasterio.features import rasterize

from geovision import defaults
from geovision.io.raster import open_raster
from geovision.io.vectors import write_vectors
from geovision.io.windows import plan_windows
from geovision.vector.simplify import simplify_outlines

WINDOW_PX = 4096


def surviving_fraction(
    buildings: gpd.GeoDataFrame, post_mask: Path, *, tau: float = defaults.TAU, window_px: int = WINDOW_PX
) -> np.ndarray:
    """Per building: the share of its valid pixels predicted as building in ``post_mask`` (NaN if none valid)."""
    n = len(buildings)
    hits, total = np.zeros(n + 1), np.zeros(n + 1)
    if n == 0:
        return np.zeros(0)
    tree = shapely.STRtree(buildings.geometry.values)
    with open_raster(post_mask, bands=[1]) as raster:
        for chip in plan_windows(raster.width, raster.height, chip_px=window_px):
            window = chip.crop
            transform = raster.transform @ Affine.translation(window.col_off, window.row_off)
            x0, y1 = transform @ (0, 0)
            x1, y0 = transform @ (window.width, window.height)
            found = tree.query(shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
            if len(found) == 0:
                continue
            ids = rasterize(
                ((buildings.geometry.values[i], int(i) + 1) for i in found),
                out_shape=(window.height, window.width),
                transform=transform,
                fill=0,
                dtype="int32",
            )
            data, valid = raster.read(window)
            use = valid & (ids > 0)
            total += np.bincount(ids[use], minlength=n + 1)
            hits += np.bincount(ids[use], weights=(data[0][use] >= tau).astype(float), minlength=n + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total[1:] > 0, hits[1:] / np.maximum(total[1:], 1), np.nan)


def building_and_road_vectors(
    masks: dict[str, Path],
    out_dir: Path,
    *,
    tau: float = defaults.TAU,
    min_area_m2: float = defaults.MIN_BUILDING_M2,
    keep_fraction: float = 0.5,
) -> tuple[dict[str, str], dict[str, float]]:
    """Write ``buildings.gpkg``/``.geojson`` (lost flag) into ``out_dir``; return (outputs, figures).

    The files hold outlines simplified below half a pixel (:mod:`geovision.vector.simplify`);
    the figures are measured on the unsimplified ones.
    """
    from geovision.vector.polygons import polygonize_raster

    buildings = polygonize_raster(masks["buildings_pre"], tau=tau, min_area_m2=min_area_m2)
    buildings = buildings.reset_index(drop=True)
    buildings["surviving_fraction"] = surviving_fraction(buildings, masks["buildings_post"], tau=tau)
    buildings["lost"] = buildings["surviving_fraction"] < keep_fraction
    with open_raster(masks["buildings_pre"], bands=[1]) as raster:
        transform = raster.transform
    written = simplify_outlines(buildings, transform)  # after every measure: areas come from the pixel outlines
    out_dir = Path(out_dir)
    outputs = {}
    for suffix in ("gpkg", "geojson"):
        path = out_dir / f"buildings.{suffix}"
        write_vectors(written, path, layer="buildings" if suffix == "gpkg" else None, overwrite=True)
        outputs[f"buildings_{suffix}"] = str(path)
    figures = {
        "buildings_before": int(len(buildings)),
        "buildings_lost": int(buildings["lost"].sum()),
        "building_area_lost_m2": float(buildings.loc[buildings["lost"], "area_m2"].sum()),
    }
    return outputs, figures

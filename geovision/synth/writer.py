"""Writing a synthetic event to disk: rasters streamed window by window, vectors, event.json.

Outputs are reproducible byte for byte: GeoTIFFs carry no timestamps, and the
GeoPackages are written with ``OGR_CURRENT_DATE`` pinned so that their
``last_change`` fields do not depend on the clock.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
from affine import Affine
from rasterio.crs import CRS

from geovision.io.grid import Grid
from geovision.progress import progress
from geovision.synth.census import Census
from geovision.synth.events import DAMAGE_CLASSES, Disaster, lost_fraction
from geovision.synth.layout import ARTERIAL, COMMERCIAL, FARM, HOUSE, SHED, Town
from geovision.synth.render import SceneRenderer

IMAGES = ("pre", "post")
MASKS = ("buildings_pre", "buildings_post", "roads_pre", "roads_post")
BLOCK_PX = 512
FIXED_DATE = "2000-01-01T00:00:00.000Z"
USE_NAMES = {HOUSE: "house", SHED: "shed", COMMERCIAL: "commercial", FARM: "farm"}


def write_rasters(
    renderer: SceneRenderer, folder: Path, *, width: int, height: int, crs: CRS, transform: Affine, window_px: int
) -> None:
    """Render and write pre/post images and the four masks, one window at a time."""
    base = dict(
        driver="GTiff",
        width=width,
        height=height,
        dtype="uint8",
        crs=crs,
        transform=transform,
        tiled=True,
        blockxsize=BLOCK_PX,
        blockysize=BLOCK_PX,
        compress="deflate",
        nodata=None,
    )
    with contextlib.ExitStack() as stack:
        stack.enter_context(rasterio.Env(GDAL_CACHEMAX=64 * 2**20, GDAL_PAM_ENABLED="NO"))
        out = {}
        for name in IMAGES:
            out[name] = stack.enter_context(
                rasterio.open(folder / f"{name}.tif", "w", count=3, photometric="RGB", interleave="pixel", **base)
            )
        for name in MASKS:
            out[name] = stack.enter_context(rasterio.open(folder / f"{name}.tif", "w", count=1, **base))
        tiles = [tile.crop for tile in Grid(crs, transform, width, height).tiles(window_px)]
        for window in progress(tiles, total=len(tiles), description="rendering"):
            rio_window = rasterio.windows.Window(*window)
            for name in IMAGES:
                out[name].write(renderer.image(name, window), window=rio_window)
            for name, mask in renderer.masks(window).items():
                out[name].write(mask, 1, window=rio_window)


@contextlib.contextmanager
def _fixed_gdal_date() -> Iterator[None]:
    """Pin the date GDAL's GeoPackage driver stamps into files, restoring the previous setting."""
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def _write_gpkg(frame: gpd.GeoDataFrame, path: Path) -> None:
    frame.to_file(path, driver="GPKG", layer=path.stem, engine="pyogrio")


def write_vectors(
    folder: Path, town: Town, disaster: Disaster, population: np.ndarray, census: Census, crs: CRS
) -> None:
    """buildings.gpkg, roads.gpkg, affected_area.gpkg and census.gpkg."""
    b = town.buildings
    crs_text = crs.to_wkt()
    buildings = gpd.GeoDataFrame(
        {
            "building_id": np.arange(1, len(b) + 1, dtype=np.int64),
            "damage": np.array(DAMAGE_CLASSES, dtype=object)[disaster.damage],
            "lost": disaster.lost,
            "population": population.astype(np.int64),
            "use": [USE_NAMES[int(k)] for k in b.kind],
            "height_m": np.round(b.height_m, 2),
        },
        geometry=list(b.footprint),
        crs=crs_text,
    )
    roads = gpd.GeoDataFrame(
        {
            "road_id": np.arange(1, len(town.road_line) + 1, dtype=np.int64),
            "kind": np.where(town.road_kind == ARTERIAL, "arterial", "local").astype(object),
            "width_m": np.round(town.road_width_m, 2),
            "lost_fraction": np.round(lost_fraction(town, disaster.road_loss), 4),
        },
        geometry=list(town.road_line),
        crs=crs_text,
    )
    affected = gpd.GeoDataFrame(
        {"event": [disaster.kind], "area_m2": [round(disaster.region.area, 1)]},
        geometry=[disaster.region],
        crs=crs_text,
    )
    admin = gpd.GeoDataFrame(
        {
            "admin_id": np.arange(1, len(census.polygon) + 1, dtype=np.int64),
            "name": census.name,
            "pop": census.pop,
        },
        geometry=list(census.polygon),
        crs=crs_text,
    )
    with _fixed_gdal_date():
        for frame, name in ((buildings, "buildings"), (roads, "roads"), (affected, "affected_area"), (admin, "census")):
            _write_gpkg(frame, folder / f"{name}.gpkg")


def write_json(path: Path, info: dict[str, Any]) -> None:
    """A stable, sorted, human-readable JSON file."""
    path.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")

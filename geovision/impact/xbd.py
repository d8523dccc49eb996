"""xBD tiles mosaicked onto one georeferenced grid: ground-truth building masks before/after, and the images.

A building is *lost* after the event when its post-disaster subtype is one of
:data:`LOST_CLASSES` (``destroyed``, ``major-damage``), the convention used for
the Disaster Impact Index ground truth.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from affine import Affine
from rasterio.crs import CRS

from geovision.defaults import LOST_CLASSES
from geovision.errors import AlignmentError, ConfigError, GeoreferenceError

if TYPE_CHECKING:
    import geopandas as gpd

POST_SUFFIX = "_post_disaster.json"


@dataclass(frozen=True)
class XbdMosaic:
    """xBD tiles on one north-up grid (``transform``, ``crs``).

    ``pre``/``post``: uint8 0/1 masks of every building and of the buildings not lost;
    ``buildings``: their polygons (EPSG:4326) with ``uid``, ``tile``, ``subtype`` and ``lost``;
    ``pre_image``/``post_image``: ``[bands, h, w]`` mosaics of the tiles' PNGs (None without ``images``).
    """

    pre: np.ndarray
    post: np.ndarray
    transform: Affine
    crs: CRS
    buildings: gpd.GeoDataFrame
    pre_image: np.ndarray | None = None
    post_image: np.ndarray | None = None


@dataclass(frozen=True)
class _Tile:
    label: Path
    frame: gpd.GeoDataFrame
    transform: Affine
    crs: CRS
    width: int
    height: int
    images: dict[str, np.ndarray]  # "pre"/"post" -> [bands, h, w]; empty without an image folder

    @property
    def name(self) -> str:
        """``00000001`` of ``joplin-tornado_00000001_post_disaster.json``."""
        return self.label.name.removesuffix(POST_SUFFIX).rsplit("_", 1)[-1]


def _read_tile(label: Path, images: Path | None, tile_px: int | None) -> _Tile:
    from geovision.io.labels import _read_plain_image, fit_xbd_affine, read_xbd_json

    frame = read_xbd_json(label)
    transform, crs = fit_xbd_affine(label)
    meta = frame.attrs.get("metadata", {})
    expected = (meta.get("height"), meta.get("width"))
    pictures: dict[str, np.ndarray] = {}
    for date in ("pre", "post"):
        if images is None:
            break
        png = images / f"{label.name.removesuffix(POST_SUFFIX)}_{date}_disaster.png"
        pictures[date] = _read_plain_image(png)
        if None not in expected and tuple(pictures[date].shape[1:]) != expected:
            raise GeoreferenceError(
                f"image is {pictures[date].shape[2]}x{pictures[date].shape[1]} "
                f"but its label file describes {expected[1]}x{expected[0]}",
                path=png,
                fix=f"pair the image with its own label file (not {label})",
            )
    fallback = pictures["post"].shape[1:] if pictures else (tile_px or 1024, tile_px or 1024)
    height, width = int(expected[0] or fallback[0]), int(expected[1] or fallback[1])
    return _Tile(label, frame, transform, crs, width, height, pictures)


def xbd_mosaic(
    post_labels: Sequence[str | os.PathLike[str]],
    *,
    images: str | os.PathLike[str] | None = None,
    lost_classes: Sequence[str] = LOST_CLASSES,
    tile_px: int | None = None,
) -> XbdMosaic:
    """Place the xBD tiles of ``post_labels`` (``*_post_disaster.json``) on one grid.

    Each tile's pixel -> UTM affine is fitted from its label file; tiles are placed at whole-pixel
    offsets of a north-up grid with the first tile's pixel size, from the tiles' top-left corner
    (they must share its pixel size and CRS). Masks are burnt from the labels' pixel polygons. With
    ``images`` (the folder of the tiles' ``*_pre_disaster.png``/``*_post_disaster.png``) the images
    are mosaicked too, the first tile winning where tiles overlap. A tile's size is its label file's
    (else its image's, else ``tile_px``, else 1024).
    """
    import geopandas as gpd
    import pandas as pd

    from geovision.io.labels import rasterize_vectors

    if not post_labels:
        raise ConfigError("no xBD label files given", fix="pass the *_post_disaster.json files of the tiles")
    folder = None if images is None else Path(images)
    tiles = [_read_tile(Path(label), folder, tile_px) for label in post_labels]
    first, crs = tiles[0].transform, tiles[0].crs
    res_x, res_y = abs(first.a), abs(first.e)
    origin_x, origin_y = min(t.transform.c for t in tiles), max(t.transform.f for t in tiles)
    for tile in tiles:
        if tile.crs != crs or not np.isclose(abs(tile.transform.a), res_x, rtol=1e-3):
            raise AlignmentError(
                "xBD tiles do not share one UTM zone and pixel size",
                path=tile.label,
                fix="mosaic only tiles of one event and area",
            )
    windows = [
        (
            slice(row := round((origin_y - t.transform.f) / res_y), row + t.height),
            slice(col := round((t.transform.c - origin_x) / res_x), col + t.width),
        )
        for t in tiles
    ]
    shape = (max(rows.stop for rows, _ in windows), max(cols.stop for _, cols in windows))
    pre, post = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    lost = set(lost_classes)
    frames = []
    for tile, window in zip(tiles, windows, strict=True):
        buildings = tile.frame[tile.frame["feature_type"].fillna("building") == "building"]
        standing = buildings[~buildings["subtype"].isin(lost)]
        for mask, frame in ((pre, buildings), (post, standing)):
            mask[window] |= rasterize_vectors(frame, transform=Affine.identity(), width=tile.width, height=tile.height)
        frames.append(
            gpd.GeoDataFrame(
                {"uid": buildings["uid"], "tile": tile.name, "subtype": buildings["subtype"]},
                geometry=gpd.GeoSeries(buildings["geometry_lnglat"], crs="EPSG:4326"),
            )
        )
    polygons = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    polygons["lost"] = polygons["subtype"].isin(lost)

    def image_mosaic(date: str) -> np.ndarray | None:
        if folder is None:
            return None
        bands = tiles[0].images[date]
        canvas = np.zeros((bands.shape[0], *shape), bands.dtype)
        for tile, window in reversed(list(zip(tiles, windows, strict=True))):  # the first tile, written last, wins
            canvas[(slice(None), *window)] = tile.images[date]
        return canvas

    grid = Affine(res_x, 0.0, origin_x, 0.0, -res_y, origin_y)
    return XbdMosaic(pre, post, grid, crs, polygons, pre_image=image_mosaic("pre"), post_image=image_mosaic("post"))


def xbd_tile_geotiff(stem: str, *, images: Path, labels: Path, out_dir: Path) -> Path:
    """One xBD tile's PNG (``<stem>.png``) as a GeoTIFF georeferenced from its label JSON (once, into ``out_dir``).

    The engine reads the tile as a user would (its own fitted affine, not the mosaic's grid).
    """
    from geovision.io.labels import georeference_png

    path = Path(out_dir) / f"{stem}.tif"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        georeference_png(Path(images) / f"{stem}.png", Path(labels) / f"{stem}.json", path)
    return path

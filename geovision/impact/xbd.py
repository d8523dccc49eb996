"""Ground-truth building masks before/after from xBD label files, mosaicked onto one georeferenced grid.

A building is *lost* after the event when its post-disaster subtype is one of
:data:`LOST_CLASSES` (``destroyed``, ``major-damage``), the convention used for
the Disaster Impact Index ground truth.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from affine import Affine
from rasterio.crs import CRS

from geovision.errors import AlignmentError, ConfigError

LOST_CLASSES = ("destroyed", "major-damage")


def xbd_masks(
    post_labels: Sequence[str | os.PathLike[str]],
    *,
    lost_classes: Sequence[str] = LOST_CLASSES,
    tile_px: int | None = None,
) -> tuple[np.ndarray, np.ndarray, Affine, CRS]:
    """``(pre, post, transform, crs)``: uint8 0/1 building masks of the tiles placed on one grid.

    Each tile's pixel -> UTM affine is fitted from its label file; tiles are placed at
    whole-pixel offsets of the first tile's grid (they must share its pixel size and CRS).
    ``pre`` holds every building, ``post`` the buildings not lost.
    """
    from geovision.io.labels import fit_xbd_affine, rasterize_vectors, read_xbd_json

    if not post_labels:
        raise ConfigError("no xBD label files given", fix="pass the *_post_disaster.json files of the tiles")
    tiles = []
    for path in post_labels:
        frame = read_xbd_json(path)
        transform, crs = fit_xbd_affine(path)
        meta = frame.attrs.get("metadata", {})
        height = int(meta.get("height") or tile_px or 1024)
        width = int(meta.get("width") or tile_px or 1024)
        tiles.append((path, frame, transform, crs, width, height))
    _, _, first, crs, _, _ = tiles[0]
    res = abs(first.a)
    origin_x = min(t[2].c for t in tiles)
    origin_y = max(t[2].f for t in tiles)
    placed = []
    for path, frame, transform, tile_crs, width, height in tiles:
        if tile_crs != crs or not np.isclose(abs(transform.a), res, rtol=1e-3):
            raise AlignmentError(
                "xBD tiles do not share one UTM zone and pixel size",
                path=path,
                fix="mosaic only tiles of one event and area",
            )
        placed.append(
            (frame, round((transform.c - origin_x) / res), round((origin_y - transform.f) / res), width, height)
        )
    total_w = max(col + w for _, col, _, w, _ in placed)
    total_h = max(row + h for _, _, row, _, h in placed)
    pre = np.zeros((total_h, total_w), np.uint8)
    post = np.zeros((total_h, total_w), np.uint8)
    lost = set(lost_classes)
    for frame, col, row, width, height in placed:
        buildings = frame[frame["feature_type"].fillna("building") == "building"]
        standing = buildings[~buildings["subtype"].isin(lost)]
        window = (slice(row, row + height), slice(col, col + width))
        pre[window] |= rasterize_vectors(buildings, transform=Affine.identity(), width=width, height=height)
        post[window] |= rasterize_vectors(standing, transform=Affine.identity(), width=width, height=height)
    transform = Affine(first.a, first.b, origin_x, first.d, first.e, origin_y)
    return pre, post, transform, crs

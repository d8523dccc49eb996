"""Damaged roads: road lines sampled against the road-loss mask; lost length per line and per cell.

Lines come from the pre-event road mask's skeleton (:func:`geovision.vector.skeleton.road_lines`)
or from given lines (e.g. OpenStreetMap). Each line is sampled every ``spacing_px``
pixels; a sample is lost when the road is there before and no road is within
``tolerance_px`` after (with given lines and no pre mask, the line itself is "before").
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import xarray as xr

from geovision import defaults
from geovision.errors import ConfigError
from geovision.impact.dii import lost_pixels
from geovision.impact.grid import cell_centres, n_cells
from geovision.impact.sources import as_source, same_grid
from geovision.types import PixelWindow
from geovision.vector.units import length_m


def sample_lines(lines: gpd.GeoDataFrame, spacing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points every ``spacing`` (map units) along each line, at segment centres: ``(line index, x, y)``."""
    lengths = lines.geometry.length.to_numpy()
    counts = np.maximum(np.ceil(lengths / spacing).astype(np.int64), 1)
    line_idx = np.repeat(np.arange(len(lines)), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(line_idx.size) - np.repeat(starts, counts)
    step = np.repeat(lengths / counts, counts)
    points = shapely.line_interpolate_point(lines.geometry.to_numpy()[line_idx], (rank + 0.5) * step)
    return line_idx, shapely.get_x(points), shapely.get_y(points)


def sample_lost(
    rows: np.ndarray,
    cols: np.ndarray,
    post: Any,
    *,
    pre: Any = None,
    valid: Any = None,
    tau: float = defaults.TAU,
    tolerance_px: int = 0,
    window_px: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """``(lost, valid)`` at pixel positions, reading only the windows that hold samples."""
    post_s = as_source(post)
    pre_s = None if pre is None else as_source(pre)
    if pre_s is not None:
        same_grid(pre_s, post_s)
    valid_s = None if valid is None else as_source(valid)
    lost = np.zeros(rows.size, dtype=bool)
    ok = np.zeros(rows.size, dtype=bool)
    inside = (rows >= 0) & (rows < post_s.height) & (cols >= 0) & (cols < post_s.width)
    block = (rows // window_px) * n_cells(post_s.width, window_px) + cols // window_px
    for key in np.unique(block[inside]):
        pick = np.flatnonzero(inside & (block == key))
        r0, c0 = (int(rows[pick[0]]) // window_px) * window_px, (int(cols[pick[0]]) // window_px) * window_px
        halo = tolerance_px
        window = PixelWindow(c0 - halo, r0 - halo, window_px + 2 * halo, window_px + 2 * halo)
        post_v, post_ok = post_s.read(window)
        good = post_ok
        if pre_s is not None:
            pre_v, pre_ok = pre_s.read(window)
            good = good & pre_ok
        else:
            pre_v = np.ones(post_v.shape, dtype=bool)
        if valid_s is not None:
            valid_v, valid_ok = valid_s.read(window)
            good = good & valid_ok & (valid_v > 0)
        _, lost_w, ok_w = lost_pixels(pre_v, post_v, valid=good, tau=tau, tolerance_px=tolerance_px)
        rr, cc = rows[pick] - r0 + halo, cols[pick] - c0 + halo
        lost[pick], ok[pick] = lost_w[rr, cc], ok_w[rr, cc]
    return lost, ok


def damaged_roads(
    lines: gpd.GeoDataFrame,
    post: Any,
    *,
    pre: Any = None,
    valid: Any = None,
    tau: float = defaults.TAU,
    tolerance_px: int = 0,
    spacing_px: float = 1.0,
    cell_px: int | None = None,
    window_px: int = 1024,
) -> tuple[gpd.GeoDataFrame, xr.Dataset | None]:
    """Lines with ``length_m``, ``lost_fraction``, ``lost_length_m``, ``valid_fraction``; and per-cell shares.

    ``lost_fraction`` is over the line's valid samples (NaN when none is valid). With
    ``cell_px``, also returns a grid (cells of the masks' grid) of ``road_length_m``,
    ``road_lost_m`` and ``road_lost_share`` (NaN where a cell has no valid road).
    """
    post_s = as_source(post)
    if lines.crs is None:
        raise ConfigError("road lines have no CRS", fix="give road lines with a CRS (GPKG/GeoJSON)")
    if not spacing_px > 0:
        raise ConfigError(f"spacing_px must be > 0, got {spacing_px}")
    lines = lines[lines.geom_type.isin(["LineString", "MultiLineString"])]
    lines = lines.explode(index_parts=False).reset_index(drop=True)
    local = lines.to_crs(post_s.crs) if post_s.crs is not None and lines.crs != post_s.crs else lines
    spacing = spacing_px * abs(post_s.transform.a)
    line_idx, xs, ys = sample_lines(local, spacing)
    cols_f, rows_f = ~post_s.transform @ (xs, ys)
    rows, cols = np.floor(rows_f).astype(np.int64), np.floor(cols_f).astype(np.int64)
    lost, ok = sample_lost(
        rows, cols, post_s, pre=pre, valid=valid, tau=tau, tolerance_px=tolerance_px, window_px=window_px
    )
    n_lines = len(lines)
    per_line = np.bincount(line_idx, minlength=n_lines)
    n_ok = np.bincount(line_idx, ok, minlength=n_lines)
    n_lost = np.bincount(line_idx, lost & ok, minlength=n_lines)
    out = lines.copy()
    out["length_m"] = length_m(lines)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["valid_fraction"] = n_ok / np.maximum(per_line, 1)
        out["lost_fraction"] = np.where(n_ok > 0, n_lost / n_ok, np.nan)
    out["lost_length_m"] = out["lost_fraction"] * out["length_m"]
    grid = None
    if cell_px is not None:
        sample_m = out["length_m"].to_numpy()[line_idx] / per_line[line_idx]
        grid = _road_grid(rows, cols, ok, lost, sample_m, post_s.height, post_s.width, cell_px)
        n_rows, n_cols = grid["road_length_m"].shape
        y, x = cell_centres(post_s.transform, (n_rows, n_cols), cell_px)
        grid = grid.assign_coords(y=y, x=x)
    return out, grid


def _road_grid(
    rows: np.ndarray,
    cols: np.ndarray,
    ok: np.ndarray,
    lost: np.ndarray,
    sample_m: np.ndarray,
    height: int,
    width: int,
    cell_px: int,
) -> xr.Dataset:
    shape = (n_cells(height, cell_px), n_cells(width, cell_px))
    cell = (rows[ok] // cell_px) * shape[1] + cols[ok] // cell_px
    total = np.bincount(cell, sample_m[ok], minlength=shape[0] * shape[1]).reshape(shape)
    gone = np.bincount(cell, (sample_m * lost)[ok], minlength=shape[0] * shape[1]).reshape(shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, gone / total, np.nan)
    return xr.Dataset(
        {
            "road_length_m": (("y", "x"), total),
            "road_lost_m": (("y", "x"), gone),
            "road_lost_share": (("y", "x"), share.astype(np.float32)),
        },
        attrs={"cell_px": int(cell_px)},
    )

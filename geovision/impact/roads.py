"""Damaged roads: road lines sampled against the road-loss mask; lost length per line and per cell.

Lines come from the pre-event road mask's skeleton (traced in the impact pass by
:class:`TracedRoads`, as :func:`geovision.vector.road_raster.road_lines_from_raster` does) or
are given (e.g. OpenStreetMap: :class:`RoadSamples`). Each line is sampled every ``spacing_px``
pixels; a sample is lost when the road is there before and no road is within ``tolerance_px``
after (with given lines, the line itself is "before"). Both read the masks in the one pass of
:class:`~geovision.impact.scan.MaskScan`.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import shapely
import xarray as xr

from geovision import defaults
from geovision.errors import ConfigError
from geovision.impact.dii import lost_pixels
from geovision.impact.grid import cell_centres, n_cells
from geovision.impact.scan import MaskScan, MaskWindow, padded
from geovision.io.grid import Grid
from geovision.io.windows import clip_window
from geovision.vector.road_raster import HALO_PX, lines_from_pieces, trace_window
from geovision.vector.units import length_m

log = logging.getLogger(__name__)

#: traced pieces are sampled this densely (pixels) to find every pixel a road sample can fall in
COVER_STEP_PX = 0.25


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


class Samples(NamedTuple):
    """Lines (exploded to LineStrings, on the masks' CRS) and their samples' pixels."""

    lines: gpd.GeoDataFrame
    line_idx: np.ndarray
    rows: np.ndarray
    cols: np.ndarray


def plan_samples(lines: gpd.GeoDataFrame, grid: Grid, *, spacing_px: float = 1.0) -> Samples:
    """The pixels of samples every ``spacing_px`` pixels along ``lines`` (any CRS) on ``grid``."""
    if lines.crs is None:
        raise ConfigError("road lines have no CRS", fix="give road lines with a CRS (GPKG/GeoJSON)")
    if not spacing_px > 0:
        raise ConfigError(f"spacing_px must be > 0, got {spacing_px}")
    lines = lines[lines.geom_type.isin(["LineString", "MultiLineString"])]
    lines = lines.explode(index_parts=False).reset_index(drop=True)
    local = lines.to_crs(grid.crs) if grid.crs is not None and lines.crs != grid.crs else lines
    line_idx, xs, ys = sample_lines(local, spacing_px * abs(grid.transform.a))
    cols_f, rows_f = ~grid.transform @ (xs, ys)
    return Samples(lines, line_idx, np.floor(rows_f).astype(np.int64), np.floor(cols_f).astype(np.int64))


def summarise(
    samples: Samples, lost: np.ndarray, ok: np.ndarray, grid: Grid, cell_px: int | None
) -> tuple[gpd.GeoDataFrame, xr.Dataset | None]:
    """Lines with ``length_m``, ``lost_fraction``, ``lost_length_m``, ``valid_fraction``; and per-cell shares."""
    lines, line_idx = samples.lines, samples.line_idx
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
    if cell_px is None:
        return out, None
    sample_m = out["length_m"].to_numpy()[line_idx] / per_line[line_idx]
    cells = _road_grid(samples.rows, samples.cols, ok, lost, sample_m, grid.height, grid.width, cell_px)
    y, x = cell_centres(grid.transform, (n_cells(grid.height, cell_px), n_cells(grid.width, cell_px)), cell_px)
    return out, cells.assign_coords(y=y, x=x)


class RoadSamples:
    """Given lines' samples, looked up in the pass: ``lost``/``ok`` of the pixel of each.

    ``line_is_before``: a sample's road is there before (the line itself), whatever the pre mask
    says (the pass's pre mask is then only the DII's); else it is the pass's own lost pixels.
    """

    def __init__(self, lines: gpd.GeoDataFrame, grid: Grid, *, spacing_px: float = 1.0, line_is_before: bool = False):
        self.grid, self.line_is_before = grid, line_is_before
        self.samples = plan_samples(lines, grid, spacing_px=spacing_px)
        self.lost = np.zeros(self.samples.rows.size, dtype=bool)
        self.ok = np.zeros(self.samples.rows.size, dtype=bool)
        self._order: np.ndarray | None = None

    def add(self, window: MaskWindow) -> None:
        rows, cols = self.samples.rows, self.samples.cols
        if self._order is None:  # samples by tile, found by binary search in each window
            self._columns = n_cells(self.grid.width, window.stride)
            inside = (rows >= 0) & (rows < self.grid.height) & (cols >= 0) & (cols < self.grid.width)
            tile = np.where(inside, (rows // window.stride) * self._columns + cols // window.stride, -1)
            self._order = np.argsort(tile, kind="stable")
            self._tiles = tile[self._order]
        key = window.tile[0] * self._columns + window.tile[1]
        pick = self._order[np.searchsorted(self._tiles, key) : np.searchsorted(self._tiles, key, side="right")]
        if pick.size == 0:
            return
        lost, ok = self._lost_ok(window)
        read = window.read
        rr, cc = rows[pick] - read.row_off, cols[pick] - read.col_off
        self.lost[pick], self.ok[pick] = lost[rr, cc], ok[rr, cc]

    def _lost_ok(self, window: MaskWindow) -> tuple[np.ndarray, np.ndarray]:
        if not self.line_is_before:
            return window.lost, window.ok
        good = window.post_ok if window.extra_ok is None else window.post_ok & window.extra_ok
        _, lost, ok = lost_pixels(
            np.ones(good.shape, dtype=bool), window.post, valid=good, tau=window.tau, tolerance_px=window.tolerance_px
        )
        return lost, ok

    def result(self, cell_px: int | None) -> tuple[gpd.GeoDataFrame, xr.Dataset | None]:
        """The damaged lines (and the per-cell grid with ``cell_px``), as :func:`damaged_roads`."""
        return summarise(self.samples, self.lost, self.ok, self.grid, cell_px)


class TracedRoads:
    """Road centrelines traced from the pre mask in the pass, and ``lost``/``ok`` where they can be sampled.

    Each window's skeleton is traced over its read (:data:`HALO_PX` around the crop) and clipped
    to the crop (:func:`~geovision.vector.road_raster.trace_window`); the pixels within one of a
    piece's points (every :data:`COVER_STEP_PX`) keep their ``lost``/``ok``. Every sample of the
    merged lines (:func:`~geovision.vector.road_raster.lines_from_pieces`) lies in one of them.
    """

    halo_px = HALO_PX

    def __init__(self, grid: Grid, *, tau: float = defaults.TAU, min_spur_m: float = 5.0, spacing_px: float = 1.0):
        self.grid, self.tau, self.min_spur_m, self.spacing_px = grid, tau, min_spur_m, spacing_px
        self.pieces: list[np.ndarray] = []
        self.pixels: list[np.ndarray] = []  # flat pixel index, then lost, then ok
        self.states: list[np.ndarray] = []

    def add(self, window: MaskWindow) -> None:
        read, grid = window.read, self.grid
        clipped = clip_window(read, grid.width, grid.height)
        if clipped is None:  # never: the read holds its crop, which is inside the raster
            return
        inner, (rows, cols) = clipped
        pieces = trace_window((window.pre[rows, cols] >= self.tau) & window.pre_ok[rows, cols], inner, window.crop)
        if pieces.size == 0:
            return
        self.pieces.append(pieces)
        margin = min(1, window.halo - window.tolerance_px)  # lost/ok are right this far outside the crop
        keep = clip_window(padded(window.crop, margin), grid.width, grid.height)[0]  # type: ignore[index]
        r, c = _covered(pieces)
        on = (
            (r >= keep.row_off)
            & (r < keep.row_off + keep.height)
            & (c >= keep.col_off)
            & (c < keep.col_off + keep.width)
        )
        r, c = r[on], c[on]
        self.pixels.append(r * grid.width + c)
        rr, cc = r - read.row_off, c - read.col_off
        self.states.append(np.stack([window.lost[rr, cc], window.ok[rr, cc]]))

    def result(self, cell_px: int | None) -> tuple[gpd.GeoDataFrame, xr.Dataset | None]:
        """The traced lines, damaged (and the per-cell grid with ``cell_px``), as :func:`damaged_roads`."""
        pieces = np.concatenate(self.pieces) if self.pieces else np.empty(0, dtype=object)
        lines = lines_from_pieces(pieces, self.grid.transform, self.grid.crs, min_spur_m=self.min_spur_m)
        samples = plan_samples(lines, self.grid, spacing_px=self.spacing_px)
        index = np.concatenate(self.pixels) if self.pixels else np.empty(0, np.int64)
        states = np.concatenate(self.states, axis=1) if self.states else np.empty((2, 0), bool)
        index, first = np.unique(index, return_index=True)  # a pixel kept by two windows has one state
        (lost, ok), found = _lookup(index, states[:, first], samples.rows * self.grid.width + samples.cols)
        if not found.all():  # never, by construction: counted as no data rather than guessed
            log.warning("%d road samples fell outside the traced pixels; counted as no data", int((~found).sum()))
        return summarise(samples, lost, ok, self.grid, cell_px)


def _lookup(index: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values[:, i]`` where sorted ``index[i] == wanted`` (False where absent), and where it was found."""
    if index.size == 0:
        return np.zeros((values.shape[0], wanted.size), dtype=bool), np.zeros(wanted.size, dtype=bool)
    at = np.minimum(np.searchsorted(index, wanted), index.size - 1)
    found = index[at] == wanted
    return values[:, at] & found, found


def _covered(pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)`` of every pixel within one pixel (8-neighbours) of a point of the pieces."""
    xy = shapely.get_coordinates(shapely.segmentize(pieces, COVER_STEP_PX))
    cols, rows = np.floor(xy[:, 0]).astype(np.int64), np.floor(xy[:, 1]).astype(np.int64)
    flat = np.unique(np.stack([rows, cols]), axis=1)
    shifts = np.array([(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)])
    near = np.unique((flat[:, None, :] + shifts.T[:, :, None]).reshape(2, -1), axis=1)
    return near[0], near[1]


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
    Without ``pre``, the line itself is the road before.
    """
    with MaskScan(pre, post, valid=valid) as scan:
        samples = RoadSamples(lines, scan.grid, spacing_px=spacing_px)
        scan.run([samples], tau=tau, tolerance_px=tolerance_px, window_px=window_px, description="road samples")
    return samples.result(cell_px)


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

"""The analysis grid: square cells of ``cell_px`` pixels laid over a raster.

Pure numpy / dask helpers: per-cell sums, cell geometry, metres to pixels.
A partial cell at the right or bottom edge counts only the pixels that exist.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from affine import Affine

from geovision.errors import ConfigError, GeoreferenceError
from geovision.vector.units import pixel_size_m, pixel_xy


def is_dask(array: Any) -> bool:
    """True when ``array`` is a dask array (without importing dask for numpy input)."""
    return type(array).__module__.split(".")[0] == "dask"


def n_cells(size_px: int, cell_px: int) -> int:
    """Number of cells along an axis of ``size_px`` pixels (the last one may be partial)."""
    return -(-size_px // cell_px)


def _check_cell_px(cell_px: int) -> int:
    if int(cell_px) != cell_px or cell_px < 1:
        raise ConfigError(
            f"cell size must be a whole number of pixels >= 1, got {cell_px!r}",
            fix="pass --cell-px as a positive integer (or --cell-m in metres)",
        )
    return int(cell_px)


def block_sum(array: Any, cell_px: int, dtype: Any = np.int64) -> Any:
    """Sum ``array`` (2-D numpy or dask) over square cells of ``cell_px`` pixels.

    The array is padded with zeros to a whole number of cells, so edge cells sum
    only their real pixels. Returns an array of shape ``(n_rows, n_cols)`` of cells.
    """
    cell_px = _check_cell_px(cell_px)
    if array.ndim != 2:
        raise ValueError(f"block_sum needs a 2-D array, got shape {array.shape}")
    rows, cols = array.shape
    pad = ((0, n_cells(rows, cell_px) * cell_px - rows), (0, n_cells(cols, cell_px) * cell_px - cols))
    if is_dask(array):
        import dask.array as da

        padded = da.pad(array, pad, mode="constant", constant_values=0) if any(p[1] for p in pad) else array
        chunks = tuple(max(1, round(max(c) / cell_px)) * cell_px for c in padded.chunks)
        padded = padded.rechunk(chunks)
        return da.coarsen(functools.partial(np.sum, dtype=dtype), padded, {0: cell_px, 1: cell_px})
    array = np.asarray(array)
    if any(p[1] for p in pad):
        array = np.pad(array, pad, mode="constant", constant_values=0)
    n_r, n_c = array.shape[0] // cell_px, array.shape[1] // cell_px
    return array.reshape(n_r, cell_px, n_c, cell_px).sum(axis=(1, 3), dtype=dtype)


def cell_pixel_counts(shape: tuple[int, int], cell_px: int) -> np.ndarray:
    """Number of real pixels in each cell of a raster of ``shape`` (edge cells may be partial)."""
    cell_px = _check_cell_px(cell_px)
    rows, cols = shape
    heights = np.minimum(cell_px, rows - np.arange(n_cells(rows, cell_px)) * cell_px)
    widths = np.minimum(cell_px, cols - np.arange(n_cells(cols, cell_px)) * cell_px)
    return np.outer(heights, widths).astype(np.int64)


def cell_transform(transform: Affine, cell_px: int) -> Affine:
    """Geotransform of the cell grid (one pixel per cell)."""
    return transform @ Affine.scale(_check_cell_px(cell_px))


def cell_centres(transform: Affine, shape_cells: tuple[int, int], cell_px: int) -> tuple[np.ndarray, np.ndarray]:
    """``(y, x)`` coordinates of full-cell centres for a north-up ``transform`` of the pixels."""
    grid = cell_transform(transform, cell_px)
    rows, cols = shape_cells
    x = grid.c + grid.a * (np.arange(cols) + 0.5)
    y = grid.f + grid.e * (np.arange(rows) + 0.5)
    return y, x


def cell_boxes(transform: Affine, raster_shape: tuple[int, int], cell_px: int) -> np.ndarray:
    """Shapely boxes of every cell, row-major, clipped to the raster's extent."""
    import shapely

    cell_px = _check_cell_px(cell_px)
    rows, cols = raster_shape
    row0 = np.arange(n_cells(rows, cell_px)) * cell_px
    col0 = np.arange(n_cells(cols, cell_px)) * cell_px
    r0, c0 = np.meshgrid(row0, col0, indexing="ij")
    r1, c1 = np.minimum(r0 + cell_px, rows), np.minimum(c0 + cell_px, cols)
    xa, ya = pixel_xy(transform, c0.ravel(), r0.ravel())
    xb, yb = pixel_xy(transform, c1.ravel(), r1.ravel())
    return shapely.box(np.minimum(xa, xb), np.minimum(ya, yb), np.maximum(xa, xb), np.maximum(ya, yb))


def cell_px_from_m(cell_m: float, transform: Affine, crs: Any = None) -> int:
    """The whole number of pixels closest to ``cell_m`` metres (at least 1)."""
    if transform is None:
        raise GeoreferenceError(
            "a cell size in metres needs a georeferenced raster", fix="give the cell size in pixels (--cell-px) instead"
        )
    if not cell_m > 0:
        raise ConfigError(f"cell size in metres must be > 0, got {cell_m!r}", fix="pass a positive --cell-m")
    return max(1, round(cell_m / pixel_size_m(transform, crs)))

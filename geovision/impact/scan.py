"""The impact stage's one pass over the masks: each file read once per window, lost pixels computed once.

:class:`MaskScan` opens the pre and post masks (and the valid mask, and a separate building
raster when given) through the one reader (:mod:`geovision.impact.sources`: GDAL's mask and
finite values), and :meth:`MaskScan.run` walks the cell-aligned windows of
:meth:`geovision.io.grid.Grid.tiles` (``multiple=cell_px``): every file is read once per window,
with a halo of ``max(tolerance_px, halo_px)`` pixels, :func:`~geovision.impact.dii.lost_pixels`
runs once, and every consumer (:class:`CellCounts` for the DII, persons, road samples) gets the
same :class:`MaskWindow`. Only one window of pixels is in memory at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import xarray as xr

from geovision.impact.dii import MeanOver, check_dii_options, check_tolerance_px, dii_from_counts, lost_pixels
from geovision.impact.grid import block_sum, n_cells
from geovision.impact.sources import BandSource, as_source, same_grid
from geovision.io.grid import Grid, check_cell_px
from geovision.progress import progress
from geovision.types import PixelWindow

WINDOW_PX = 2048  # side of the pass's windows (rounded up to whole cells)


def padded(window: PixelWindow, halo: int) -> PixelWindow:
    """``window`` grown by ``halo`` pixels on every side."""
    return PixelWindow(window.col_off - halo, window.row_off - halo, window.width + 2 * halo, window.height + 2 * halo)


@dataclass
class MaskWindow:
    """One window of the pass. Arrays cover :attr:`read`: the ``crop`` and ``halo`` pixels on each side.

    ``before``/``lost``/``ok`` are :func:`~geovision.impact.dii.lost_pixels` of the pre/post masks
    (right wherever ``tolerance_px`` pixels around them lie in the read); ``extra_ok`` is the
    valid mask's verdict (None without one); ``buildings`` the crop of a separate building raster.
    """

    crop: PixelWindow
    halo: int
    tile: tuple[int, int]  # (row, column) of the tile; tiles start every ``stride`` pixels
    stride: int
    tau: float
    tolerance_px: int
    pre: np.ndarray
    pre_ok: np.ndarray
    post: np.ndarray
    post_ok: np.ndarray
    extra_ok: np.ndarray | None
    before: np.ndarray
    lost: np.ndarray
    ok: np.ndarray
    buildings: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def read(self) -> PixelWindow:
        """The window the arrays cover, in scene pixels."""
        return padded(self.crop, self.halo)

    def inner(self, array: np.ndarray) -> np.ndarray:
        """``array`` (shaped like the read) cut to the crop."""
        h = self.halo
        return array[h : array.shape[0] - h, h : array.shape[1] - h] if h else array

    def building_values(self) -> tuple[np.ndarray, np.ndarray]:
        """``(values, valid)`` of the building raster on the crop: the separate one, else the pre mask."""
        return self.buildings if self.buildings is not None else (self.inner(self.pre), self.inner(self.pre_ok))


class Consumer(Protocol):
    """Anything that accumulates over the pass's windows (an optional ``halo_px`` asks for more halo)."""

    def add(self, window: MaskWindow) -> None: ...


class MaskScan:
    """The masks of one impact computation on one grid; ``pre=None`` reads as a feature everywhere, all valid."""

    def __init__(self, pre: Any, post: Any, *, valid: Any = None, buildings: Any = None):
        self._opened: list[Any] = []  # the sources opened here from paths (closed by close())
        self.post: BandSource = self._source(post)
        self.pre: BandSource | None = None if pre is None else self._source(pre)
        self.valid = None if valid is None else self._source(valid)
        self.buildings = None if buildings is None else self._source(buildings)
        if self.pre is not None:
            same_grid(self.pre, self.post)
        if self.valid is not None:
            same_grid(self.post, self.valid, names=("masks", "valid mask"))
        if self.buildings is not None:
            same_grid(self.pre or self.post, self.buildings, names=("pre", "buildings"))
        self.grid = Grid.from_dataset(self.post)

    def run(
        self,
        consumers: Sequence[Consumer],
        *,
        tau: float,
        tolerance_px: int,
        cell_px: int = 1,
        window_px: int = WINDOW_PX,
        description: str = "impact",
    ) -> None:
        """Read every window once and hand it to each consumer, in order."""
        cell_px = check_cell_px(cell_px)
        tolerance_px = check_tolerance_px(tolerance_px)
        halo = max([tolerance_px] + [int(getattr(c, "halo_px", 0)) for c in consumers])
        stride = -(-window_px // cell_px) * cell_px  # the step between tiles (Grid.tiles)
        tiles = self.grid.tiles(window_px, multiple=cell_px)
        for tile in progress(tiles, total=len(tiles), description=description):
            window = self._window(tile.crop, halo, stride, tau, tolerance_px)
            for consumer in consumers:
                consumer.add(window)

    def _window(self, crop: PixelWindow, halo: int, stride: int, tau: float, tolerance_px: int) -> MaskWindow:
        read = padded(crop, halo)
        post, post_ok = self.post.read(read)
        if self.pre is None:
            pre, pre_ok = np.ones(post.shape, dtype=bool), np.ones(post.shape, dtype=bool)
        else:
            pre, pre_ok = self.pre.read(read)
        extra_ok = None
        if self.valid is not None:
            values, valid_ok = self.valid.read(read)
            extra_ok = valid_ok & (values > 0)
        ok = pre_ok & post_ok if extra_ok is None else pre_ok & post_ok & extra_ok
        before, lost, ok = lost_pixels(pre, post, valid=ok, tau=tau, tolerance_px=tolerance_px)
        return MaskWindow(
            crop=crop,
            halo=halo,
            tile=(crop.row_off // stride, crop.col_off // stride),
            stride=stride,
            tau=tau,
            tolerance_px=tolerance_px,
            pre=pre,
            pre_ok=pre_ok,
            post=post,
            post_ok=post_ok,
            extra_ok=extra_ok,
            before=before,
            lost=lost,
            ok=ok,
            buildings=None if self.buildings is None else self.buildings.read(crop),
        )

    def _source(self, raster: Any) -> BandSource:
        source = as_source(raster)
        if source is not raster and hasattr(source, "close"):
            self._opened.append(source)
        return source

    def close(self) -> None:
        """Close the files opened here (sources passed in stay open)."""
        for source in self._opened:
            source.close()
        self._opened.clear()

    def __enter__(self) -> MaskScan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CellCounts:
    """The DII's part of the pass: ``f``, ``c`` and valid pixels per cell (:func:`~geovision.impact.grid.block_sum`)."""

    def __init__(self, grid: Grid, cell_px: int, *, mean_over: MeanOver = "all", min_valid_fraction: float = 0.5):
        check_dii_options(mean_over, min_valid_fraction)
        self.grid, self.cell_px = grid, check_cell_px(cell_px)
        self.mean_over, self.min_valid_fraction = mean_over, min_valid_fraction
        shape = (n_cells(grid.height, self.cell_px), n_cells(grid.width, self.cell_px))
        self.f, self.c, self.n_valid = (np.zeros(shape, np.int64) for _ in range(3))

    def add(self, window: MaskWindow) -> None:
        crop, cell = window.crop, self.cell_px
        r0, c0 = crop.row_off // cell, crop.col_off // cell
        for total, pixels in ((self.f, window.before), (self.c, window.lost), (self.n_valid, window.ok)):
            block = block_sum(window.inner(pixels), cell)
            total[r0 : r0 + block.shape[0], c0 : c0 + block.shape[1]] = block

    def dataset(self, *, tau: float, tolerance_px: int) -> xr.Dataset:
        """The DII grid (:func:`~geovision.impact.dii.dii_from_counts`) of the counts."""
        return dii_from_counts(
            self.f,
            self.c,
            self.n_valid,
            raster_shape=self.grid.shape,
            cell_px=self.cell_px,
            mean_over=self.mean_over,
            min_valid_fraction=self.min_valid_fraction,
            transform=self.grid.transform,
            crs=self.grid.crs,
            attrs={"tau": float(tau), "tolerance_px": int(tolerance_px)},
        )

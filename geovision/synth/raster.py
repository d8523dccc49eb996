"""Rasterising indexed vector layers into one window of the scene grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine
from rasterio.features import rasterize

from geovision.types import PixelWindow


@dataclass(frozen=True)
class Frame:
    """A window of the scene grid, grown by ``halo`` px and seen with a sub-pixel ``shift`` (dx, dy)."""

    window: PixelWindow
    scene_transform: Affine
    halo: int = 0
    shift: tuple[float, float] = (0.0, 0.0)

    @property
    def shape(self) -> tuple[int, int]:
        return self.window.height + 2 * self.halo, self.window.width + 2 * self.halo

    @property
    def row0(self) -> int:
        return self.window.row_off - self.halo

    @property
    def col0(self) -> int:
        return self.window.col_off - self.halo

    @property
    def transform(self) -> Affine:
        return self.scene_transform @ Affine.translation(self.col0 + self.shift[0], self.row0 + self.shift[1])

    @property
    def rows(self) -> np.ndarray:
        """Global (shifted) row coordinates of the frame's pixels, for noise."""
        return self.row0 + np.arange(self.shape[0], dtype=np.float64) + self.shift[1]

    @property
    def cols(self) -> np.ndarray:
        return self.col0 + np.arange(self.shape[1], dtype=np.float64) + self.shift[0]

    @property
    def pixel_rows(self) -> np.ndarray:
        """Integer global rows of the frame (sensor pixels, unshifted)."""
        return self.row0 + np.arange(self.shape[0], dtype=np.int64)

    @property
    def pixel_cols(self) -> np.ndarray:
        return self.col0 + np.arange(self.shape[1], dtype=np.int64)

    def map_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """Map coordinates of pixel centres as a column of x (1, w) and a row of y (h, 1)."""
        t = self.transform
        x = t.c + (np.arange(self.shape[1]) + 0.5) * t.a
        y = t.f + (np.arange(self.shape[0]) + 0.5) * t.e
        return x[None, :], y[:, None]

    def box(self) -> shapely.Polygon:
        h, w = self.shape
        t = self.transform
        xs, ys = (t.c, t.c + w * t.a), (t.f, t.f + h * t.e)
        return shapely.box(min(xs), min(ys), max(xs), max(ys))

    def crop(self, array: np.ndarray) -> np.ndarray:
        """Drop the halo of a (..., h, w) array."""
        if self.halo == 0:
            return array
        return array[..., self.halo : -self.halo, self.halo : -self.halo]


class Layer:
    """Geometries with burn values, indexed by an STRtree; burnt in index order (later wins)."""

    def __init__(self, geoms: np.ndarray, values: np.ndarray | float = 1, *, all_touched: bool = False):
        self.geoms = np.asarray(geoms, dtype=object)
        keep = ~shapely.is_empty(self.geoms) if self.geoms.size else np.zeros(0, bool)
        self.geoms = self.geoms[keep]
        self.values = np.broadcast_to(np.asarray(values), keep.shape)[keep]
        self.tree = shapely.STRtree(self.geoms)
        self.all_touched = all_touched

    def __len__(self) -> int:
        return len(self.geoms)

    def burn(self, frame: Frame, *, fill: float = 0, dtype: str = "uint8") -> np.ndarray:
        index = np.sort(self.tree.query(frame.box()))
        if index.size == 0:
            return np.full(frame.shape, fill, dtype=dtype)
        return rasterize(
            zip(self.geoms[index], self.values[index].tolist(), strict=True),
            out_shape=frame.shape,
            transform=frame.transform,
            fill=fill,
            dtype=dtype,
            all_touched=self.all_touched,
        )

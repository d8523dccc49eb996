"""Single-band rasters (masks, probabilities, counts) read window by window, from memory or a file.

``read(window)`` returns ``(values, valid)``: ``valid`` is the package's one rule
(:func:`geovision.io.validity.valid_pixels`: GDAL's mask for files, the declared nodata for
arrays, and finite values), and false outside the raster (reads are boundless).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from affine import Affine

from geovision.errors import BandCountError
from geovision.io.grid import Grid
from geovision.io.validity import valid_pixels
from geovision.io.windows import clip_window
from geovision.types import PixelWindow


class BandSource(Protocol):
    """A georeferenced single-band raster."""

    width: int
    height: int
    transform: Affine
    crs: Any

    def read(self, window: PixelWindow) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class ArraySource:
    """An in-memory 2-D array with its georeference; valid: finite and not ``nodata`` (None: no nodata value)."""

    array: np.ndarray
    transform: Affine = Affine.identity()
    crs: Any = None
    nodata: float | None = None

    def __post_init__(self) -> None:
        self.array = np.asarray(self.array)
        if self.array.ndim != 2:
            raise BandCountError(f"expected a 2-D single-band array, got shape {self.array.shape}")
        self.height, self.width = self.array.shape

    def read(self, window: PixelWindow) -> tuple[np.ndarray, np.ndarray]:
        """Values and valid mask; pixels outside the array read as 0 and invalid (boundless)."""
        values = np.zeros((window.height, window.width), dtype=self.array.dtype)
        valid = np.zeros((window.height, window.width), dtype=bool)
        clipped = clip_window(window, self.width, self.height)
        if clipped is not None:
            inner, (rows, cols) = clipped
            values[rows, cols] = self.array[inner.row_slice, inner.col_slice]
            valid[rows, cols] = valid_pixels(values[rows, cols], nodata=self.nodata)
        return values, valid


class FileSource:
    """One band of a raster file, opened and validated by :func:`geovision.io.raster.open_raster`.

    Values come back as float32 (exact for masks and counts below 2**24), invalid
    pixels (nodata, masks, NaN) and pixels outside the raster as 0 with ``valid=False``.
    """

    def __init__(self, path: str | os.PathLike[str], *, band: int = 1):
        from geovision.io.raster import open_raster

        self.raster = open_raster(path, bands=[band])
        self.path = self.raster.path
        self.width, self.height = self.raster.width, self.raster.height
        self.transform, self.crs = self.raster.transform, self.raster.crs

    def read(self, window: PixelWindow) -> tuple[np.ndarray, np.ndarray]:
        data, valid = self.raster.read(window)
        return data[0], valid

    def close(self) -> None:
        self.raster.close()

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def as_source(
    raster: Any, *, transform: Affine | None = None, crs: Any = None, nodata: float | None = None
) -> BandSource:
    """A :class:`BandSource` from a path, an existing source or a 2-D array (with its georeference)."""
    if isinstance(raster, (str, os.PathLike)):
        return FileSource(raster)
    if hasattr(raster, "read") and hasattr(raster, "transform"):
        return raster
    return ArraySource(np.asarray(raster), transform=transform or Affine.identity(), crs=crs, nodata=nodata)


def same_grid(a: BandSource, b: BandSource, *, names: tuple[str, str] = ("pre", "post")) -> None:
    """Raise ConfigError unless two sources share size, transform and CRS (see :meth:`Grid.check_same`)."""
    Grid.from_dataset(a).check_same(
        Grid.from_dataset(b), names=names, paths=(getattr(a, "path", None), getattr(b, "path", None))
    )


def aligned_windows(width: int, height: int, *, size_px: int, multiple: int = 1) -> Iterator[PixelWindow]:
    """Tiles covering the raster once, ``size_px`` rounded up to a multiple of ``multiple`` (cell-aligned)."""
    for tile in Grid(None, Affine.identity(), width, height).tiles(size_px, multiple=multiple):
        yield tile.crop

"""Image readers for training: georeferenced rasters (via geovision.io) and plain PNG/JPEG images.

Both expose ``width``, ``height``, ``count`` and ``read(window) -> (float32 [C, h, w], valid [h, w])``
in raw (unscaled) units, boundless: pixels outside the image read as 0 with ``valid=False``.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Protocol

import numpy as np
import rasterio
from pyproj import Geod
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window

from geovision.errors import BandCountError, CorruptFileError
from geovision.io.crs import is_metric
from geovision.io.raster import RasterSource, check_input_file, open_raster
from geovision.io.validity import read_valid
from geovision.io.windows import clip_window
from geovision.types import PixelWindow


class ImageReader(Protocol):
    width: int
    height: int

    @property
    def count(self) -> int: ...

    def read(self, window: PixelWindow) -> tuple[np.ndarray, np.ndarray]: ...


def open_geotiff(path: str | os.PathLike[str], *, bands: list[int] | None = None) -> RasterSource:
    """A georeferenced raster with raw values (no scaling): the bundle's normalisation applies to raw units."""
    return open_raster(path, bands=bands, scaling="none")


def gsd_m_of(source: RasterSource) -> float:
    """Ground sample distance in metres at the raster's centre (geodesic for geographic CRSs)."""
    res_x, res_y = source.res
    if is_metric(source.crs):
        return float((res_x + res_y) / 2)
    if source.crs.is_projected:  # e.g. US survey feet
        return float((res_x + res_y) / 2 * source.crs.linear_units_factor[1])
    geod = Geod(ellps="WGS84")
    col, row = source.width / 2, source.height / 2
    lon0, lat0 = source.transform @ (col, row)
    lon1, lat1 = source.transform @ (col + 1, row)
    lon2, lat2 = source.transform @ (col, row + 1)
    dx = geod.inv(lon0, lat0, lon1, lat1)[2]
    dy = geod.inv(lon0, lat0, lon2, lat2)[2]
    return float((dx + dy) / 2)


def open_quietly(path: str, *, kind: str) -> rasterio.io.DatasetReader:
    """``rasterio.open`` without the warning for files that carry no georeference (PNG, JPEG)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(path)
    except RasterioIOError as error:
        raise CorruptFileError(
            f"not a readable {kind} ({error})", path=path, fix="re-download or re-export the file"
        ) from error


class PlainImage:
    """A PNG/JPEG/TIFF read in pixel coordinates, all valid unless masked.

    A reader of its own because :func:`geovision.io.raster.open_raster` refuses files with no
    georeference; its valid mask is the same rule (:func:`geovision.io.validity.read_valid`).
    """

    def __init__(self, path: str | os.PathLike[str], *, bands: list[int] | None = None):
        check_input_file(path, kind="image")
        self.path = os.fspath(path)
        with self._open() as dataset:
            self.width, self.height = dataset.width, dataset.height
            default = [i for i, ci in enumerate(dataset.colorinterp, 1) if ci != ColorInterp.alpha]
            self.bands = list(bands) if bands else default or list(range(1, dataset.count + 1))
            if any(not 1 <= b <= dataset.count for b in self.bands):
                raise BandCountError(
                    f"band selection {self.bands} is invalid for a {dataset.count}-band image",
                    path=self.path,
                    fix=f"choose bands between 1 and {dataset.count}",
                )

    def _open(self) -> rasterio.io.DatasetReader:
        return open_quietly(self.path, kind="image")

    @property
    def count(self) -> int:
        return len(self.bands)

    def read(self, window: PixelWindow) -> tuple[np.ndarray, np.ndarray]:
        data = np.zeros((self.count, window.height, window.width), np.float32)
        valid = np.zeros((window.height, window.width), bool)
        clipped = clip_window(window, self.width, self.height)
        if clipped is None:
            return data, valid
        inner, (rows, cols) = clipped
        with self._open() as dataset:
            data[:, rows, cols], valid[rows, cols] = read_valid(dataset, self.bands, window=Window(*inner))
        data[:, ~valid] = 0.0
        return data, valid


def read_scale(target_gsd_m: float, scene_gsd_m: float, scale: float = 1.0) -> float:
    """How many scene pixels one output pixel covers (``> 1`` means the scene is finer than the model)."""
    if not (math.isfinite(scene_gsd_m) and scene_gsd_m > 0):
        raise ValueError(f"invalid scene GSD {scene_gsd_m}")
    return target_gsd_m / scene_gsd_m * scale

"""Put a pre/post pair on one reference grid (GDAL WarpedVRT), window by window.

The grid: the pre raster's CRS when it is projected in metres, else the UTM zone of the
overlap; the finer of the two resolutions (or ``res_m``); the intersection of the two
footprints, snapped inwards to whole pixels of the pre raster's own grid when it is
north-up in the reference CRS (so the pre image is not resampled), else to multiples
of the resolution. Both dates are warped lazily per window; ``valid`` is true where
both dates have data.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import calculate_default_transform, transform_bounds
from rasterio.windows import Window

from geovision.errors import BandCountError, ConfigError, NoOverlapError
from geovision.io.crs import is_metric, utm_crs_for
from geovision.io.raster import RasterSource, open_raster
from geovision.io.scaling import Scaling
from geovision.io.windows import clip_window
from geovision.types import Bounds, PixelWindow

SNAP_TOLERANCE_PX = 1e-6


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid: CRS, transform and size."""

    crs: CRS
    transform: Affine
    width: int
    height: int

    @property
    def res_m(self) -> float:
        return self.transform.a

    @property
    def bounds(self) -> Bounds:
        t = self.transform
        return Bounds(t.c, t.f + t.e * self.height, t.c + t.a * self.width, t.f)


def _bounds_in(source: RasterSource, crs: CRS) -> Bounds:
    if source.crs == crs:
        return source.bounds
    return Bounds(*transform_bounds(source.crs, crs, *source.bounds, densify_pts=21))


def _res_in(source: RasterSource, crs: CRS) -> float:
    """A source's (square) pixel size expressed in ``crs`` units."""
    if source.crs == crs:
        return math.sqrt(abs(source.transform.determinant))
    transform, _, _ = calculate_default_transform(source.crs, crs, source.width, source.height, *source.bounds)
    return math.sqrt(abs(transform.determinant))


def reference_crs(pre: RasterSource, post: RasterSource) -> CRS:
    """The pre raster's CRS if projected in metres, else the UTM zone of the pair's overlap."""
    if is_metric(pre.crs):
        return pre.crs
    geographic = CRS.from_epsg(4326)
    overlap = _bounds_in(pre, geographic).intersection(_bounds_in(post, geographic))
    if overlap is None:
        raise NoOverlapError("pre and post images do not overlap", path=post.path,
                             fix=f"check that {pre.path} and {post.path} show the same place")
    return utm_crs_for((overlap.xmin + overlap.xmax) / 2, (overlap.ymin + overlap.ymax) / 2)


def _snap(low: float, high: float, anchor: float, res: float) -> tuple[float, int]:
    """Snap ``[low, high]`` inwards to whole pixels of a grid through ``anchor``: (start, n_pixels)."""
    first = math.ceil((low - anchor) / res - SNAP_TOLERANCE_PX)
    last = math.floor((high - anchor) / res + SNAP_TOLERANCE_PX)
    return anchor + first * res, last - first


def reference_grid(pre: RasterSource, post: RasterSource, *, res_m: float | None = None) -> Grid:
    """The common grid of a pre/post pair (see the module docstring). Raises NoOverlapError."""
    crs = reference_crs(pre, post)
    if res_m is not None and not res_m > 0:
        raise ConfigError(f"res_m must be positive, got {res_m}", fix="give a pixel size in metres, e.g. --res-m 0.5")
    res = float(res_m) if res_m is not None else min(_res_in(pre, crs), _res_in(post, crs))
    overlap = _bounds_in(pre, crs).intersection(_bounds_in(post, crs))
    if overlap is None:
        raise NoOverlapError("pre and post images do not overlap", path=post.path,
                             fix=f"check that {pre.path} and {post.path} show the same place and have the right CRS")
    on_pre_grid = pre.crs == crs and pre.is_north_up
    anchor_x, anchor_y = (pre.transform.c, pre.transform.f) if on_pre_grid else (0.0, 0.0)
    xmin, width = _snap(overlap.xmin, overlap.xmax, anchor_x, res)
    ymin, height = _snap(overlap.ymin, overlap.ymax, anchor_y, res)
    if width < 1 or height < 1:
        raise NoOverlapError(f"pre and post images overlap by less than one {res:g} m pixel", path=post.path,
                             fix=f"check that {pre.path} and {post.path} show the same place")
    return Grid(crs, Affine(res, 0.0, xmin, 0.0, -res, ymin + height * res), width, height)


class AlignedPair:
    """A pre/post pair on one grid; :meth:`read` returns ``image_pre``, ``image_post`` and ``valid``."""

    def __init__(self, pre: RasterSource, post: RasterSource, grid: Grid, *,
                 resampling: Resampling = Resampling.bilinear):
        if pre.count != post.count:
            raise BandCountError(f"post image has {post.count} selected band(s) {post.bands}, the pre image "
                                 f"{pre.path} has {pre.count} {pre.bands}", path=post.path,
                                 fix="select the same number of bands for both dates (--bands)")
        self.pre, self.post, self.grid = pre, post, grid
        self.resampling = resampling
        self._vrts: dict[str, WarpedVRT] = {}

    crs = property(lambda self: self.grid.crs)
    transform = property(lambda self: self.grid.transform)
    width = property(lambda self: self.grid.width)
    height = property(lambda self: self.grid.height)
    bounds = property(lambda self: self.grid.bounds)
    res_m = property(lambda self: self.grid.res_m)

    @property
    def count(self) -> int:
        return self.pre.count

    def _vrt(self, which: str) -> WarpedVRT:
        vrt = self._vrts.get(which)
        if vrt is None or vrt.closed:
            source: RasterSource = getattr(self, which)
            options: dict[str, Any] = {}
            if source.is_float and source.nodata is None:
                options.update(src_nodata=math.nan, nodata=math.nan)
            vrt = WarpedVRT(source.dataset, crs=self.grid.crs, transform=self.grid.transform,
                            width=self.grid.width, height=self.grid.height, resampling=self.resampling,
                            add_alpha=not source.has_alpha, **options)
            self._vrts[which] = vrt
        return vrt

    def _alpha_band(self, which: str) -> int:
        source: RasterSource = getattr(self, which)
        if source.has_alpha:
            return [c.name for c in source.dataset.colorinterp].index("alpha") + 1
        return self._vrt(which).count

    def read_raw(self, which: str, window: PixelWindow) -> tuple[np.ndarray, np.ndarray]:
        """Unscaled warped values (float32) and valid mask of one date, for a window inside the grid."""
        source: RasterSource = getattr(self, which)
        vrt, rio_window = self._vrt(which), Window(*window)
        data = source.checked_read(lambda _: vrt.read(source.bands, window=rio_window, out_dtype=np.float32),
                               f"aligned window {tuple(window)}")
        alpha = source.checked_read(lambda _: vrt.read(self._alpha_band(which), window=rio_window),
                                f"aligned window {tuple(window)}")
        valid = alpha > 0
        if source.is_float:
            valid &= np.isfinite(data).all(axis=0)
        return data, valid

    def read(self, window: PixelWindow, *, scaled: bool = True) -> dict[str, np.ndarray]:
        """``image_pre``/``image_post`` float32 ``[C, h, w]`` and ``valid`` bool ``[h, w]`` (both dates valid).

        Boundless: pixels outside the grid are 0.0 and invalid. Invalid pixels read as 0.0.
        ``scaled=False`` returns raw (resampled) values instead of the configured scaling.
        """
        window = PixelWindow(*window)
        shape = (self.count, window.height, window.width)
        sample = {"image_pre": np.zeros(shape, np.float32), "image_post": np.zeros(shape, np.float32),
                  "valid": np.zeros(shape[1:], bool)}
        clipped = clip_window(window, self.width, self.height)
        if clipped is None:
            return sample
        inner, (rows, cols) = clipped
        valid = np.ones((inner.height, inner.width), bool)
        images = {}
        for which in ("pre", "post"):
            data, date_valid = self.read_raw(which, inner)
            if scaled:
                getattr(self, which).apply_scaling(data)
            images[which] = data
            valid &= date_valid
        for which, data in images.items():
            data[:, ~valid] = 0.0
            sample[f"image_{which}"][:, rows, cols] = data
        sample["valid"][rows, cols] = valid
        return sample

    def close(self) -> None:
        for vrt in self._vrts.values():
            vrt.close()
        self._vrts.clear()
        self.pre.close()
        self.post.close()

    def __enter__(self) -> "AlignedPair":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_vrts"] = {}
        return state

    def __repr__(self) -> str:
        return (f"AlignedPair(pre={self.pre.path!r}, post={self.post.path!r}, {self.width}x{self.height}, "
                f"res_m={self.res_m:g}, crs={self.crs.to_string()})")


def align_pair(pre_path: str | os.PathLike[str], post_path: str | os.PathLike[str], *, res_m: float | None = None,
               bands: list[int] | None = None, scaling: Scaling | str | dict | None = None,
               resampling: Resampling | str = Resampling.bilinear) -> AlignedPair:
    """Open, validate and align a pre/post pair (see the module docstring).

    Raises the errors of :func:`open_raster`, NoOverlapError, and BandCountError when the two
    dates have different numbers of selected bands.
    """
    if isinstance(resampling, str):
        try:
            resampling = Resampling[resampling]
        except KeyError as error:
            raise ConfigError(f"unknown resampling {resampling!r}",
                              fix="use nearest, bilinear, cubic, average ...") from error
    pre = open_raster(pre_path, bands=bands, scaling=scaling)
    try:
        post = open_raster(post_path, bands=bands, scaling=scaling)
    except BaseException:
        pre.close()
        raise
    try:
        return AlignedPair(pre, post, reference_grid(pre, post, res_m=res_m), resampling=resampling)
    except BaseException:
        pre.close()
        post.close()
        raise

"""Put a pre/post pair on one reference grid (GDAL WarpedVRT), window by window.

The grid: the pre raster's CRS when it is projected in metres, else the UTM zone of the
overlap; the finer of the two resolutions (or ``res_m``); the intersection of the two
footprints, snapped inwards to whole pixels of the pre raster's own grid when it is
north-up in the reference CRS (so the pre image is not resampled), else to multiples
of the resolution. Both dates are warped lazily per window; ``valid`` is true where
both dates have data. An AOI (any polygon vector file) restricts the grid to the AOI's
bounds and ``valid`` to the pixels whose centre lies inside its polygons.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import calculate_default_transform, transform_bounds
from rasterio.windows import Window
from rasterio.windows import transform as window_transform
from shapely.geometry.base import BaseGeometry

from geovision.errors import BandCountError, ConfigError, NoOverlapError
from geovision.io.aoi import AoiLike, aoi_mask, resolve_aoi
from geovision.io.crs import is_metric, utm_crs_for
from geovision.io.grid import Grid  # the grid type lives in geovision.io.grid (re-exported here)
from geovision.io.raster import RasterSource, open_raster
from geovision.io.scaling import Scaling
from geovision.io.validity import all_valid, fill_invalid, valid_pixels
from geovision.io.windows import clip_window
from geovision.types import Bounds, PixelWindow

SNAP_TOLERANCE_PX = 1e-6


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
        raise NoOverlapError(
            "pre and post images do not overlap",
            path=post.path,
            fix=f"check that {pre.path} and {post.path} show the same place",
        )
    return utm_crs_for((overlap.xmin + overlap.xmax) / 2, (overlap.ymin + overlap.ymax) / 2)


def _pixel_range(low: float, high: float, anchor: float, res: float, *, centres: bool = False) -> tuple[int, int]:
    """Pixels ``[first, last)`` of a grid through ``anchor`` lying inside ``[low, high]``
    (with ``centres``: those whose centre does)."""
    if centres:
        return (
            math.ceil((low - anchor) / res - 0.5 - SNAP_TOLERANCE_PX),
            math.floor((high - anchor) / res - 0.5 + SNAP_TOLERANCE_PX) + 1,
        )
    return (math.ceil((low - anchor) / res - SNAP_TOLERANCE_PX), math.floor((high - anchor) / res + SNAP_TOLERANCE_PX))


def reference_grid(
    pre: RasterSource, post: RasterSource, *, res_m: float | None = None, aoi: AoiLike | None = None
) -> Grid:
    """The common grid of a pre/post pair (see the module docstring). Raises NoOverlapError.

    With ``aoi`` (a vector file, ``(geometry, crs)`` or :class:`~geovision.io.aoi.Aoi`) the grid
    covers only the AOI's bounds (the pixels whose centre lies in them) inside the pair's overlap.
    """
    crs = reference_crs(pre, post)
    if res_m is not None and not res_m > 0:
        raise ConfigError(f"res_m must be positive, got {res_m}", fix="give a pixel size in metres, e.g. --res-m 0.5")
    res = float(res_m) if res_m is not None else min(_res_in(pre, crs), _res_in(post, crs))
    overlap = _bounds_in(pre, crs).intersection(_bounds_in(post, crs))
    if overlap is None:
        raise NoOverlapError(
            "pre and post images do not overlap",
            path=post.path,
            fix=f"check that {pre.path} and {post.path} show the same place and have the right CRS",
        )
    on_pre_grid = pre.crs == crs and pre.is_north_up
    anchor_x, anchor_y = (pre.transform.c, pre.transform.f) if on_pre_grid else (0.0, 0.0)
    x0, x1 = _pixel_range(overlap.xmin, overlap.xmax, anchor_x, res)
    y0, y1 = _pixel_range(overlap.ymin, overlap.ymax, anchor_y, res)
    if aoi is not None:
        aoi = resolve_aoi(aoi)
        area = aoi.in_crs(crs)
        if not area.intersects(shapely.box(*overlap)):
            raise NoOverlapError(
                "AOI does not overlap the area covered by both the pre and the post image",
                path=aoi.label,
                fix=f"draw the AOI inside the overlap of {pre.path} and {post.path} "
                f"({', '.join(f'{v:.1f}' for v in overlap)} in {crs.to_string()}), "
                "and check the AOI file's CRS",
            )
        xmin, ymin, xmax, ymax = area.bounds
        ax0, ax1 = _pixel_range(xmin, xmax, anchor_x, res, centres=True)
        ay0, ay1 = _pixel_range(ymin, ymax, anchor_y, res, centres=True)
        x0, x1, y0, y1 = max(x0, ax0), min(x1, ax1), max(y0, ay0), min(y1, ay1)
    width, height = x1 - x0, y1 - y0
    if (width < 1 or height < 1) and aoi is not None:
        raise NoOverlapError(
            f"AOI covers no pixel centre of the {res:g} m pre/post grid (too small)",
            path=aoi.label,
            fix=f"draw a larger AOI inside the overlap of {pre.path} and {post.path}",
        )
    if width < 1 or height < 1:
        raise NoOverlapError(
            f"pre and post images overlap by less than one {res:g} m pixel",
            path=post.path,
            fix=f"check that {pre.path} and {post.path} show the same place",
        )
    return Grid(crs, Affine(res, 0.0, anchor_x + x0 * res, 0.0, -res, anchor_y + y1 * res), width, height)


class AlignedPair:
    """A pre/post pair on one grid; :meth:`read` returns ``image_pre``, ``image_post`` and ``valid``.

    ``aoi``: a (multi)polygon in the grid's CRS; :meth:`read` marks pixels whose centre is
    outside it invalid (the mask is computed per window).
    """

    def __init__(
        self,
        pre: RasterSource,
        post: RasterSource,
        grid: Grid,
        *,
        resampling: Resampling = Resampling.bilinear,
        aoi: BaseGeometry | None = None,
    ):
        if pre.count != post.count:
            raise BandCountError(
                f"post image has {post.count} selected band(s) {post.bands}, the pre image "
                f"{pre.path} has {pre.count} {pre.bands}",
                path=post.path,
                fix="select the same number of bands for both dates (--bands)",
            )
        self.pre, self.post, self.grid = pre, post, grid
        self.resampling, self.aoi = resampling, aoi
        self._vrts: dict[str, WarpedVRT] = {}
        self._offsets: dict[str, tuple[int, int] | None] = {}

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
            vrt = WarpedVRT(
                source.dataset,
                crs=self.grid.crs,
                transform=self.grid.transform,
                width=self.grid.width,
                height=self.grid.height,
                resampling=self.resampling,
                add_alpha=not source.has_alpha,
                **options,
                **across_antimeridian(source.dataset),
            )
            self._vrts[which] = vrt
        return vrt

    def _alpha_band(self, which: str) -> int:
        source: RasterSource = getattr(self, which)
        if source.has_alpha:
            return [c.name for c in source.dataset.colorinterp].index("alpha") + 1
        return self._vrt(which).count

    def _offset_on_grid(self, which: str) -> tuple[int, int] | None:
        """Where the grid's first pixel lies in the source's own pixels when the source is already on
        the grid (same CRS and pixel size, a whole-pixel offset, covering the grid, integer values
        without nodata or mask); else None."""
        if which not in self._offsets:
            source: RasterSource = getattr(self, which)
            col, row = ~source.transform @ (self.grid.transform.c, self.grid.transform.f)
            offset = (round(col), round(row))
            shifted = Grid(source.crs, source.transform @ Affine.translation(*offset), self.width, self.height)
            inside = 0 <= offset[0] <= source.width - self.width and 0 <= offset[1] <= source.height - self.height
            # only where every pixel is valid: GDAL's warper and its per-band masks disagree on nodata
            plain = all_valid(source.dataset, source.bands) and not source.is_float
            self._offsets[which] = offset if plain and inside and shifted.same_as(self.grid) else None
        return self._offsets[which]

    def read_raw(self, which: str, window: PixelWindow) -> tuple[np.ndarray, np.ndarray]:
        """Unscaled warped values (float32) and valid mask of one date, for a window inside the grid (AOI ignored).

        A date already on the grid is read directly (no warping: the same pixels, 2x faster)."""
        source: RasterSource = getattr(self, which)
        offset = self._offset_on_grid(which)
        if offset is not None:
            col, row, width, height = window
            return source.read_raw(PixelWindow(col + offset[0], row + offset[1], width, height))
        vrt, rio_window = self._vrt(which), Window(*window)
        data = source.checked_read(
            lambda _: vrt.read(source.bands, window=rio_window, out_dtype=np.float32), f"aligned window {tuple(window)}"
        )
        alpha = source.checked_read(
            lambda _: vrt.read(self._alpha_band(which), window=rio_window), f"aligned window {tuple(window)}"
        )
        return data, valid_pixels(data, alpha)  # the warped alpha carries the source's GDAL mask

    def read(self, window: PixelWindow, *, scaled: bool = True) -> dict[str, np.ndarray]:
        """``image_pre``/``image_post`` float32 ``[C, h, w]`` and ``valid`` bool ``[h, w]`` (both dates valid).

        Boundless: pixels outside the grid (or the AOI) are 0.0 and invalid. Invalid pixels read as 0.0.
        ``scaled=False`` returns raw (resampled) values instead of the configured scaling.
        """
        window = PixelWindow(*window)
        shape = (self.count, window.height, window.width)
        sample = {
            "image_pre": np.zeros(shape, np.float32),
            "image_post": np.zeros(shape, np.float32),
            "valid": np.zeros(shape[1:], bool),
        }
        clipped = clip_window(window, self.width, self.height)
        if clipped is None:
            return sample
        inner, (rows, cols) = clipped
        valid = np.ones((inner.height, inner.width), bool)
        if self.aoi is not None:
            valid = aoi_mask(self.aoi, window_transform(Window(*inner), self.transform), inner.height, inner.width)
            if not valid.any():
                return sample
        images = {}
        for which in ("pre", "post"):
            data, date_valid = self.read_raw(which, inner)
            if scaled:
                getattr(self, which).apply_scaling(data)
            images[which] = data
            valid &= date_valid
        for which, data in images.items():
            fill_invalid(data, valid, 0.0)
            if inner == window:
                sample[f"image_{which}"] = data
            else:
                sample[f"image_{which}"][:, rows, cols] = data
        sample["valid"][rows, cols] = valid
        return sample

    def close(self) -> None:
        for vrt in self._vrts.values():
            vrt.close()
        self._vrts.clear()
        self.pre.close()
        self.post.close()

    def __enter__(self) -> AlignedPair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_vrts"] = {}
        return state

    def __repr__(self) -> str:
        return (
            f"AlignedPair(pre={self.pre.path!r}, post={self.post.path!r}, {self.width}x{self.height}, "
            f"res_m={self.res_m:g}, crs={self.crs.to_string()}{', aoi' if self.aoi is not None else ''})"
        )


def align_pair(
    pre_path: str | os.PathLike[str],
    post_path: str | os.PathLike[str],
    *,
    res_m: float | None = None,
    bands: list[int] | None = None,
    scaling: Scaling | str | dict | None = None,
    resampling: Resampling | str = Resampling.bilinear,
    aoi: AoiLike | None = None,
    model_bands: tuple[str, ...] | None = None,
) -> AlignedPair:
    """Open, validate and align a pre/post pair (see the module docstring).

    ``aoi`` (a vector file path, ``(geometry, crs)`` or :class:`~geovision.io.aoi.Aoi`) restricts
    the grid to the AOI's bounds and marks pixels outside its polygons invalid. ``model_bands``
    (a model's band names) chooses each date's bands for that model (:mod:`geovision.io.bands`).
    Raises the errors of :func:`open_raster` and :func:`~geovision.io.aoi.load_aoi`, NoOverlapError
    (also when the AOI misses the pair's overlap), and BandCountError when the two dates have
    different numbers of selected bands.
    """
    if isinstance(resampling, str):
        try:
            resampling = Resampling[resampling]
        except KeyError as error:
            raise ConfigError(
                f"unknown resampling {resampling!r}", fix="use nearest, bilinear, cubic, average ..."
            ) from error
    aoi = resolve_aoi(aoi) if aoi is not None else None
    pre = open_raster(pre_path, bands=bands, scaling=scaling, model_bands=model_bands)
    try:
        post = open_raster(post_path, bands=bands, scaling=scaling, model_bands=model_bands)
    except BaseException:
        pre.close()
        raise
    try:
        grid = reference_grid(pre, post, res_m=res_m, aoi=aoi)
        return AlignedPair(
            pre, post, grid, resampling=resampling, aoi=aoi.in_crs(grid.crs) if aoi is not None else None
        )
    except BaseException:
        pre.close()
        post.close()
        raise


def across_antimeridian(dataset: rasterio.io.DatasetReader) -> dict[str, Any]:
    """WarpedVRT source options that keep a lon/lat scene across the antimeridian whole ({} for any other).

    GDAL maps grid pixels back to longitudes in -180..180, so everything of such a scene east of
    180 degrees would be lost. Re-expressing the source against a prime meridian at its own centre
    (``+pm``, with the transform shifted to match) puts all its longitudes within -180..180.
    """
    crs, bounds = dataset.crs, dataset.bounds
    if crs is None or not crs.is_geographic or -180 <= bounds.left <= bounds.right <= 180:
        return {}
    centre = (bounds.left + bounds.right) / 2
    shifted = CRS.from_proj4(f"{crs.to_proj4().replace('+no_defs', '').strip()} +pm={centre:.12g} +no_defs")
    return {"src_crs": shifted, "src_transform": Affine.translation(-centre, 0) * dataset.transform}


def warp_to_grid(
    path: str | os.PathLike[str],
    grid: Grid,
    out: str | os.PathLike[str],
    *,
    aoi: BaseGeometry | None = None,
    nodata: int = 255,
    overwrite: bool = False,
    strip_px: int = 512,
) -> Path:
    """Band 1 of a uint8 mask raster put on ``grid`` (nearest neighbour) as a COG at ``out``, strip by strip.

    Pixels outside the source's data or outside ``aoi`` (a polygon in the grid's CRS) are ``nodata``.
    """
    from geovision.io.cog import StreamingCogWriter

    with (
        open_raster(path, bands=[1]) as source,
        WarpedVRT(
            source.dataset,
            crs=grid.crs,
            transform=grid.transform,
            width=grid.width,
            height=grid.height,
            resampling=Resampling.nearest,
            add_alpha=True,
            **across_antimeridian(source.dataset),
        ) as vrt,
        StreamingCogWriter(
            out,
            width=grid.width,
            height=grid.height,
            count=1,
            dtype="uint8",
            transform=grid.transform,
            crs=grid.crs,
            nodata=nodata,
            kind="mask",
            overwrite=overwrite,
        ) as writer,
    ):

        def read(band: int, window: Window) -> np.ndarray:
            return source.checked_read(lambda _: vrt.read(band, window=window), f"warped rows {window.row_off}+")

        for row in range(0, grid.height, strip_px):
            window = Window(0, row, grid.width, min(strip_px, grid.height - row))
            data = read(1, window)
            valid = valid_pixels(data, read(vrt.count, window))
            if aoi is not None:
                valid &= aoi_mask(aoi, window_transform(window, grid.transform), window.height, window.width)
            writer.write(
                PixelWindow(0, row, window.width, window.height), np.where(valid, data, nodata).astype(np.uint8)
            )
    return Path(out)

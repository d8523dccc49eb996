"""Open and validate any GDAL-readable raster; read windows as float32 with a valid-data mask.

The valid mask is the package's one rule (:func:`geovision.io.validity.valid_pixels`):
everything GDAL knows (nodata value, alpha band, internal or sidecar mask) and finite
values; nodata is never assumed to be 0. Pixels outside the raster (boundless reads) and
invalid pixels read as 0.0 with ``valid=False``.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar
from xml.etree import ElementTree

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.io import MemoryFile
from rasterio.windows import Window

from geovision.errors import BandCountError, CorruptFileError, GeoreferenceError, NodataError
from geovision.io.bands import BandPlan, plan_bands, usable_bands
from geovision.io.paths import check_input_file, is_remote  # noqa: F401 - re-exported for callers
from geovision.io.scaling import BandStretch, Scaling, parse_scaling, resolve_scaling
from geovision.io.validity import read_valid
from geovision.io.windows import clip_window
from geovision.types import Bounds, PixelWindow

T = TypeVar("T")
SAMPLE_PX = 1024  # long side of the decimated read used for percentile statistics


def footprint_bounds(transform: Affine, width: int, height: int) -> Bounds:
    """Bounds of the four corners (correct for rotated and south-up transforms)."""
    xs, ys = zip(*(transform @ corner for corner in ((0, 0), (width, 0), (0, height), (width, height))), strict=True)
    return Bounds(min(xs), min(ys), max(xs), max(ys))


def _raw_nodata_values(dataset: rasterio.io.DatasetReader) -> list[str | None]:
    """Each band's nodata exactly as GDAL stores it (rasterio hides values outside the dtype range)."""
    with MemoryFile(ext=".vrt") as memfile:
        rasterio.shutil.copy(dataset, memfile.name, driver="VRT")
        root = ElementTree.fromstring(memfile.read())
    return [band.findtext("NoDataValue") for band in root.findall("VRTRasterBand")]


def nodata_fits(value: float, dtype: str) -> bool:
    """True when ``value`` can be stored in ``dtype`` (integers: whole and in range; floats: NaN ok)."""
    kind = np.dtype(dtype)
    if kind.kind == "f":
        return math.isnan(value) or math.isinf(value) or abs(value) <= np.finfo(kind).max
    if kind.kind in "iu":
        info = np.iinfo(kind)
        return math.isfinite(value) and value == int(value) and info.min <= value <= info.max
    return True


def _check_nodata(dataset: rasterio.io.DatasetReader, path: str) -> None:
    for band, raw in enumerate(_raw_nodata_values(dataset), start=1):
        if raw is None:
            continue
        dtype = dataset.dtypes[band - 1]
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not nodata_fits(value, dtype):
            raise NodataError(
                f"band {band} nodata value {raw} does not fit its data type {dtype}",
                path=path,
                fix="set a nodata value inside the type's range "
                "(e.g. `rio edit-info --nodata 0 FILE`) or remove it (`--unset-nodata`)",
            )


def _check_georeference(dataset: rasterio.io.DatasetReader, path: str) -> None:
    gcps, _ = dataset.gcps
    if dataset.transform.is_identity:
        how = "only ground control points" if gcps else "no georeference (no geotransform)"
        raise GeoreferenceError(
            f"raster has {how}",
            path=path,
            fix="use a georeferenced GeoTIFF (warp it with `gdalwarp` first); for an "
            "xBD PNG use geovision.io.labels.georeference_png with its label JSON",
        )
    if dataset.crs is None:
        raise GeoreferenceError(
            "raster has a transform but no CRS",
            path=path,
            fix="assign its CRS, e.g. `rio edit-info --crs EPSG:32615 FILE`, or (catalog "
            "events) give `crs: EPSG:32615` under the image in data_catalog.yaml",
        )


def _check_pixel_type(dataset: rasterio.io.DatasetReader, path: str) -> None:
    kinds = {np.dtype(dtype).kind for dtype in dataset.dtypes}
    if not kinds <= {"u", "i", "f", "b"}:
        raise CorruptFileError(
            f"pixels are of type {dataset.dtypes[0]}, not an image of intensities (complex values are SAR phase data)",
            path=path,
            fix="give an optical image, or convert it to intensities first "
            "(e.g. `gdal_translate -ot Float32` of its amplitude)",
        )


def _probe_corners(dataset: rasterio.io.DatasetReader, path: str) -> None:
    """Read the first and last pixel: catches most truncated files at open time."""
    for col, row in ((0, 0), (dataset.width - 1, dataset.height - 1)):
        try:
            dataset.read(1, window=Window(col, row, 1, 1))
        except RasterioIOError as error:
            raise CorruptFileError(
                f"raster is truncated or corrupt ({_gdal_message(error)})",
                path=path,
                fix="re-download or re-export the file",
            ) from error


def _gdal_message(error: Exception) -> str:
    cause = error.__cause__ or error.__context__
    text = str(cause) if cause is not None and str(cause) else str(error)
    return text.splitlines()[0][:200] if text else type(error).__name__


class RasterSource:
    """A validated raster: georeference, selected bands, scaling and window reads.

    Holds an open dataset (reopened lazily after pickling, e.g. in worker processes);
    use as a context manager or call :meth:`close`. ``bands`` may repeat a band (a pan-chromatic
    image read as ``[1, 1, 1]``); ``band_plan`` says how they were chosen for a model (None: not for one).
    """

    def __init__(
        self,
        path: str,
        dataset: rasterio.io.DatasetReader,
        *,
        bands: list[int],
        scaling: Scaling,
        band_plan: BandPlan | None = None,
    ):
        self.path = path
        self._dataset: rasterio.io.DatasetReader | None = dataset
        self.bands = list(bands)
        self.band_plan = band_plan
        self.scaling = scaling
        self.crs: CRS = dataset.crs
        self.transform: Affine = dataset.transform
        self.width: int = dataset.width
        self.height: int = dataset.height
        self.file_count: int = dataset.count
        self.dtypes: tuple[str, ...] = tuple(dataset.dtypes[b - 1] for b in self.bands)
        self.nodatavals: tuple[float | None, ...] = tuple(dataset.nodatavals[b - 1] for b in self.bands)
        self.colorinterp: tuple[ColorInterp, ...] = tuple(dataset.colorinterp[b - 1] for b in self.bands)
        self.has_alpha = ColorInterp.alpha in dataset.colorinterp
        self._stretch: BandStretch | None | str = "unresolved"

    # -- metadata -----------------------------------------------------------------
    @property
    def count(self) -> int:
        """Number of selected bands (the first axis of :meth:`read`)."""
        return len(self.bands)

    @property
    def dtype(self) -> str:
        return self.dtypes[0]

    @property
    def nodata(self) -> float | None:
        return self.nodatavals[0]

    @property
    def is_float(self) -> bool:
        return np.dtype(self.dtype).kind == "f"

    @property
    def res(self) -> tuple[float, float]:
        """Pixel size along columns and rows in CRS units (rotation-aware)."""
        t = self.transform
        return math.hypot(t.a, t.d), math.hypot(t.b, t.e)

    @property
    def is_north_up(self) -> bool:
        t = self.transform
        return t.b == 0 and t.d == 0 and t.a > 0 and t.e < 0

    @property
    def bounds(self) -> Bounds:
        return footprint_bounds(self.transform, self.width, self.height)

    def check_band_count(self, expected: int) -> None:
        """Raise BandCountError unless ``expected`` bands are selected."""
        if self.count != expected:
            raise BandCountError(
                f"raster has {self.count} selected band(s) {self.bands}, the model needs {expected}",
                path=self.path,
                fix=f"select {expected} bands in the config (bands: [...]) or use a model "
                f"trained on {self.count}-band imagery",
            )

    # -- dataset handle -------------------------------------------------------------
    @property
    def dataset(self) -> rasterio.io.DatasetReader:
        if self._dataset is None or self._dataset.closed:
            self._dataset = rasterio.open(self.path)
        return self._dataset

    def close(self) -> None:
        if self._dataset is not None:
            self._dataset.close()
            self._dataset = None

    def __enter__(self) -> RasterSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_dataset"] = None
        return state

    def __repr__(self) -> str:
        return (
            f"RasterSource({self.path!r}, {self.width}x{self.height}, bands={self.bands}, "
            f"dtype={self.dtype}, crs={self.crs.to_string() if self.crs else None})"
        )

    # -- scaling ------------------------------------------------------------------
    @property
    def stretch(self) -> BandStretch | None:
        """The resolved per-band scaling (computed once, percentiles from a decimated read)."""
        if isinstance(self._stretch, str):
            self._stretch = resolve_scaling(self.scaling, dtype=self.dtype, count=self.count, sample=self.sample)
        return self._stretch

    def apply_scaling(self, array: np.ndarray) -> np.ndarray:
        """Scale a float32 ``[bands, h, w]`` array of raw values (in place) per the configured scaling."""
        stretch = self.stretch
        return array if stretch is None else stretch.apply(array)

    def sample(self, max_px: int = SAMPLE_PX) -> tuple[np.ndarray, np.ndarray]:
        """A decimated whole-raster read ``(raw float32 [bands, h, w], valid [h, w])`` (uses overviews)."""
        factor = max(1, math.ceil(max(self.width, self.height) / max_px))
        shape = (max(1, self.height // factor), max(1, self.width // factor))
        return self.checked_read(lambda ds: read_valid(ds, self.bands, out_shape=shape), "overview")

    # -- reading ------------------------------------------------------------------
    def checked_read(self, fn: Callable[[Any], T], where: str) -> T:
        """``fn(dataset)``; a GDAL read error becomes a CorruptFileError naming the file and ``where``."""
        try:
            return fn(self.dataset)
        except RasterioIOError as error:
            raise CorruptFileError(
                f"cannot read pixels ({where}): corrupt or truncated tile ({_gdal_message(error)})",
                path=self.path,
                fix="re-download or re-export the file",
            ) from error

    def read_raw(self, window: PixelWindow) -> tuple[np.ndarray, np.ndarray]:
        """Unscaled float32 values and valid mask (:func:`~.validity.read_valid`) of a window inside the raster."""
        rio_window = Window(*window)
        return self.checked_read(lambda ds: read_valid(ds, self.bands, window=rio_window), f"window {tuple(window)}")

    def read(self, window: PixelWindow, *, boundless: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """``(float32 [bands, h, w] scaled, valid bool [h, w])``; invalid and outside pixels are 0.0/False."""
        window = PixelWindow(*window)
        data = np.zeros((self.count, window.height, window.width), np.float32)
        valid = np.zeros((window.height, window.width), bool)
        clipped = clip_window(window, self.width, self.height)
        if clipped is not None and not boundless and clipped[0] != window:
            raise ValueError(
                f"{self.path}: window {tuple(window)} extends past the "
                f"{self.width}x{self.height} raster; use boundless=True"
            )
        if clipped is None:
            if not boundless:
                raise ValueError(f"{self.path}: window {tuple(window)} is outside the raster")
            return data, valid
        inner, (rows, cols) = clipped
        inner_data, inner_valid = self.read_raw(inner)
        self.apply_scaling(inner_data)
        inner_data[:, ~inner_valid] = 0.0
        data[:, rows, cols] = inner_data
        valid[rows, cols] = inner_valid
        return data, valid


def open_raster(
    path: str | os.PathLike[str],
    *,
    bands: list[int] | None = None,
    scaling: Scaling | str | dict | None = None,
    model_bands: tuple[str, ...] | None = None,
) -> RasterSource:
    """Open and validate a raster (local path or URL); ``bands`` are 1-based, default all but alpha.

    ``model_bands`` (a model's band names, e.g. ``("red", "green", "blue")``): choose the bands
    for that model with :func:`geovision.io.bands.plan_bands` (``bands`` still wins).

    Raises MissingFileError, CorruptFileError (empty, truncated, unreadable), GeoreferenceError
    (no transform, no CRS), NodataError (nodata outside the dtype's range), BandCountError.
    """
    check_input_file(path, kind="raster")
    name = os.fspath(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            dataset = rasterio.open(name)
    except RasterioIOError as error:
        raise CorruptFileError(
            f"not a readable raster ({_gdal_message(error)})",
            path=name,
            fix="check that it is a complete GeoTIFF (or other GDAL format); re-download it",
        ) from error
    try:
        _check_georeference(dataset, name)
        _check_pixel_type(dataset, name)
        _check_nodata(dataset, name)
        plan = plan_bands(dataset, model_bands, bands=bands, path=name) if model_bands is not None else None
        selected = list(plan.bands) if plan else list(bands) if bands is not None else usable_bands(dataset)
        bad = [b for b in selected if not isinstance(b, (int, np.integer)) or not 1 <= b <= dataset.count]
        if not selected or bad:
            raise BandCountError(
                f"band selection {selected} is invalid for a {dataset.count}-band raster",
                path=name,
                fix=f"choose 1-based band numbers between 1 and {dataset.count}",
            )
        _probe_corners(dataset, name)
        return RasterSource(
            name, dataset, bands=[int(b) for b in selected], scaling=parse_scaling(scaling), band_plan=plan
        )
    except BaseException:
        dataset.close()
        raise

"""Read a truth raster onto a prediction's grid, window by window, and score it.

The truth is warped with nearest-neighbour resampling (``rasterio.vrt.WarpedVRT``) when the
grids differ; pixels outside either raster's data (the one validity rule of
:func:`geovision.io.validity.read_valid`: nodata, masks, NaN, outside the footprint) are not
scored. Values come back as float32. Nothing larger than one window is held in memory.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from geovision.errors import CorruptFileError, GeoreferenceError, MissingFileError, NoOverlapError
from geovision.evaluate.pixel import PixelCounts
from geovision.evaluate.xview2 import DAMAGE_CLASSES, XView2Counts
from geovision.io.grid import Grid
from geovision.progress import progress

WINDOW_PX = 1024


def _open(path: str | Path) -> Any:
    """The raster at ``path`` opened with rasterio (missing or unreadable files are clear errors)."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    if not Path(path).exists():
        raise MissingFileError("raster not found", path=path, fix="check the path")
    try:
        with warnings.catch_warnings():  # xView2/PNG masks carry no georeference by design
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(path)
    except RasterioIOError as error:
        raise CorruptFileError(
            f"cannot read raster ({error})", path=path, fix="check that the file is a complete GeoTIFF/PNG"
        ) from error


@contextlib.contextmanager
def _on_grid_of(reference: Any, source: Any, source_path: str | Path) -> Iterator[Any]:
    """``source`` itself when it shares ``reference``'s grid, else a nearest-neighbour warped view."""
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT
    from rasterio.warp import transform_bounds

    if Grid.from_dataset(reference) == Grid.from_dataset(source):
        yield source
        return
    if reference.crs is None or source.crs is None:
        if reference.crs is None and source.crs is None and reference.shape == source.shape:
            yield source  # two ungeoreferenced images of one size: pixel to pixel
            return
        raise GeoreferenceError(
            "cannot put the truth on the prediction's grid: one of them has no CRS",
            path=source_path,
            fix="georeference both rasters, or give rasters of one size",
        )
    left, bottom, right, top = transform_bounds(source.crs, reference.crs, *source.bounds)
    ref = reference.bounds
    if left >= ref.right or right <= ref.left or bottom >= ref.top or top <= ref.bottom:
        raise NoOverlapError(
            "the truth raster does not overlap the prediction", path=source_path, fix="compare rasters of the same area"
        )
    options = {
        "crs": reference.crs,
        "transform": reference.transform,
        "width": reference.width,
        "height": reference.height,
        "resampling": Resampling.nearest,
    }
    if source.nodata is not None:
        options["nodata"] = source.nodata
    else:
        options["add_alpha"] = True  # marks the pixels outside the source footprint
    with WarpedVRT(source, **options) as vrt:
        yield vrt


def aligned_windows(
    pred_path: str | Path,
    truth_path: str | Path,
    *,
    band: int = 1,
    window_px: int = WINDOW_PX,
    extra_path: str | Path | None = None,
    description: str = "scoring",
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]]:
    """Yield ``(pred, truth, valid, extra)`` (float32 values) per window of the prediction's grid.

    ``extra`` is the same window of a third raster on the prediction's grid (e.g. a separate
    localisation mask), or ``None``.
    """
    from rasterio.windows import Window

    from geovision.io.validity import read_valid

    with contextlib.ExitStack() as stack:
        pred = stack.enter_context(_open(pred_path))
        truth_src = stack.enter_context(_open(truth_path))
        truth = stack.enter_context(_on_grid_of(pred, truth_src, truth_path))
        extra = None
        if extra_path is not None:
            extra_src = stack.enter_context(_open(extra_path))
            extra = stack.enter_context(_on_grid_of(pred, extra_src, extra_path))
        windows = [Window(*tile.crop) for tile in Grid.from_dataset(pred).tiles(window_px)]
        for window in progress(windows, total=len(windows), description=description):
            (pred_values,), valid = read_valid(pred, [band], window=window)
            (truth_values,), truth_valid = read_valid(truth, [band], window=window)
            valid &= truth_valid
            extra_values = None
            if extra is not None:
                (extra_values,), extra_valid = read_valid(extra, [band], window=window)
                valid &= extra_valid
            yield pred_values, truth_values, valid, extra_values


def positive(values: np.ndarray, threshold: float | None) -> np.ndarray:
    """Mask pixels: non-zero when ``threshold`` is None, else ``>= threshold``."""
    return values > 0 if threshold is None else values >= threshold


def score_mask_rasters(
    pred_path: str | Path,
    truth_path: str | Path,
    *,
    pred_threshold: float | None = None,
    truth_threshold: float | None = None,
    band: int = 1,
    window_px: int = WINDOW_PX,
) -> PixelCounts:
    """Pixel counts of a predicted mask (or probability raster) against a truth mask."""
    counts = PixelCounts()
    for pred, truth, valid, _ in aligned_windows(pred_path, truth_path, band=band, window_px=window_px):
        counts.update(positive(pred, pred_threshold), positive(truth, truth_threshold), valid)
    return counts


def score_damage_rasters(
    pred_path: str | Path,
    truth_path: str | Path,
    *,
    localization_path: str | Path | None = None,
    band: int = 1,
    window_px: int = WINDOW_PX,
    counts: XView2Counts | None = None,
) -> XView2Counts:
    """xView2 counts of one predicted damage raster (0-4) against its truth, added to ``counts``.

    Truth pixels outside 0-4 (e.g. xBD's 5 = un-classified) are not scored.
    """
    counts = XView2Counts() if counts is None else counts
    for pred, truth, valid, loc in aligned_windows(
        pred_path, truth_path, band=band, window_px=window_px, extra_path=localization_path
    ):
        valid = valid & (truth <= max(DAMAGE_CLASSES)) & (truth >= 0)
        counts.update(pred, truth, pred_localization=loc, valid=valid)
    counts.end_image()
    return counts

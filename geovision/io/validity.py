"""The one validity rule of the raster readers, and how much of an image holds data.

A pixel holds data when every selected band's GDAL mask is non-zero (``read_masks``: the
nodata value, an alpha band, an internal or sidecar mask) and every value is finite
(NaN and inf are never data, declared or not). In-memory arrays have no GDAL mask: their
declared ``nodata`` value takes its place. :func:`read_valid` is the rule on a rasterio
dataset (a file or a ``WarpedVRT``); every window reader of the package goes through it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import rasterio
from rasterio.enums import MaskFlags, Resampling

from geovision.errors import CorruptFileError

LOW_VALID_SHARE = 0.5  # below this, a run warns that much of the scene has no data
SAMPLE_PX = 1024  # the longest side of the decimated read


def valid_pixels(data: Any, masks: Any = None, *, nodata: float | None = None) -> np.ndarray:
    """Valid pixels ``[h, w]`` of ``data`` (``[bands, h, w]`` or ``[h, w]``): the one rule.

    ``masks`` (same shape, GDAL's ``read_masks``): non-zero in every band; ``nodata``: no band
    holds it (for arrays without a GDAL mask; NaN allowed); and every value finite.
    """
    values = np.asarray(data)
    values = values[None] if values.ndim == 2 else values
    valid = np.ones(values.shape[1:], dtype=bool)
    if masks is not None:
        bands = np.asarray(masks)
        valid &= np.all((bands[None] if bands.ndim == 2 else bands) > 0, axis=0)
    if nodata is not None and not np.isnan(nodata):
        valid &= np.all(values != nodata, axis=0)
    if values.dtype.kind in "fc":
        valid &= np.isfinite(values).all(axis=0)
    return valid


def fill_invalid(array: np.ndarray, valid: np.ndarray, value: float) -> None:
    """Set ``array`` (``[h, w]`` or ``[bands, h, w]``) to ``value`` where ``valid`` is false, in place;
    no work where every pixel is valid (the common case, on the inference hot path)."""
    if not valid.all():
        array[..., ~valid] = value


def all_valid(dataset: Any, bands: list[int]) -> bool:
    """True when GDAL says every pixel of ``bands`` is valid (no nodata, alpha or mask: no mask read needed)."""
    return all(dataset.mask_flag_enums[b - 1] == [MaskFlags.all_valid] for b in bands)


def read_valid(
    dataset: Any,
    bands: list[int],
    *,
    window: Any = None,
    out_shape: tuple[int, int] | None = None,
    resampling: Resampling = Resampling.nearest,
) -> tuple[np.ndarray, np.ndarray]:
    """``(float32 [bands, h, w], valid [h, w])`` of ``bands`` of a rasterio dataset: values and the one rule.

    ``window`` (a rasterio ``Window``) and ``out_shape`` (a decimated read) as in ``dataset.read``.
    """
    shape = None if out_shape is None else (len(bands), *out_shape)
    options: dict[str, Any] = {"window": window, "out_shape": shape, "resampling": resampling}
    data = dataset.read(bands, **options).astype(np.float32, copy=False)  # numpy converts faster than GDAL
    masks = None if all_valid(dataset, bands) else dataset.read_masks(bands, **options)
    return data, valid_pixels(data, masks)


def valid_share(path: str | os.PathLike[str], *, bands: tuple[int, ...] | None = None) -> float:
    """The share of an image's pixels that hold data (:func:`read_valid`, read decimated to SAMPLE_PX)."""
    try:
        with rasterio.open(path) as src:
            scale = max(1.0, max(src.width, src.height) / SAMPLE_PX)
            shape = (max(1, round(src.height / scale)), max(1, round(src.width / scale)))
            # bad --bands are ignored here: the engine reports them
            chosen = [b for b in bands or () if 1 <= b <= src.count] or list(range(1, src.count + 1))
            _, valid = read_valid(src, chosen, out_shape=shape)
    except rasterio.errors.RasterioError as error:
        raise CorruptFileError(
            f"not a readable raster ({error})",
            path=path,
            fix="check that it is a complete GeoTIFF (gdalinfo) or re-export it",
        ) from error
    return float(valid.mean())

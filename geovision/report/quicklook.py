"""Downsampled PNG quicklooks of large rasters, read through overviews (bounded memory)."""

from __future__ import annotations

import io
import os

import numpy as np
import rasterio
from rasterio.enums import ColorInterp, Resampling

from geovision.io.paths import check_input_file


def quicklook_shape(width: int, height: int, max_px: int) -> tuple[int, int]:
    """(height, width) of a quicklook whose longer side is at most ``max_px``."""
    scale = min(1.0, max_px / max(width, height))
    return max(1, round(height * scale)), max(1, round(width * scale))


def read_quicklook(path: str | os.PathLike[str], *, max_px: int = 1024) -> np.ndarray:
    """An RGB(A) uint8 ``[h, w, 3|4]`` image of the raster, downsampled from its overviews when it has them.

    Only the output-sized array is held in memory (GDAL reads overviews or decimates
    block by block). Bands are stretched between their 2nd and 98th percentiles; pixels
    that are nodata, masked, NaN or infinite become transparent.
    """
    check_input_file(path, kind="raster")
    with rasterio.open(path) as src:
        height, width = quicklook_shape(src.width, src.height, max_px)
        bands = [i for i, ci in enumerate(src.colorinterp, start=1) if ci != ColorInterp.alpha][:3]
        data = src.read(bands, out_shape=(len(bands), height, width), resampling=Resampling.average, masked=True)
    valid = ~np.ma.getmaskarray(data).any(axis=0) & np.isfinite(np.ma.getdata(data)).all(axis=0)  # NaN/inf: no data
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    for i in range(3):
        band = np.asarray(data[min(i, len(bands) - 1)], dtype=np.float64)
        values = band[valid]
        low, high = np.percentile(values, (2, 98)) if values.size else (0.0, 1.0)
        scaled = np.where(valid, (band - low) / max(high - low, 1e-12), 0.0)
        rgb[..., i] = np.clip(np.rint(scaled * 255), 0, 255).astype(np.uint8)
    if valid.all():
        return rgb
    return np.dstack([rgb, np.where(valid, 255, 0).astype(np.uint8)])


def encode_image(image: np.ndarray, *, jpeg_quality: int = 85) -> tuple[str, bytes]:
    """``(media type, bytes)`` of an ``[h, w, 3|4]`` uint8 image: JPEG when opaque, PNG when it has alpha."""
    from PIL import Image

    buffer = io.BytesIO()
    if image.shape[-1] == 4:
        Image.fromarray(image).save(buffer, format="PNG")
        return "image/png", buffer.getvalue()
    Image.fromarray(image).save(buffer, format="JPEG", quality=jpeg_quality)
    return "image/jpeg", buffer.getvalue()

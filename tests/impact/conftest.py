"""Fixtures for impact tests: small georeferenced rasters written by seeded code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

UTM = "EPSG:32615"
TRANSFORM = Affine(0.5, 0.0, 360000.0, 0.0, -0.5, 4110000.0)


def write_tif(path: Path, array: np.ndarray, *, transform: Affine = TRANSFORM, crs: str = UTM,
              nodata: float | None = None) -> Path:
    """A single-band GeoTIFF of ``array``."""
    with rasterio.open(path, "w", driver="GTiff", width=array.shape[1], height=array.shape[0], count=1,
                       dtype=array.dtype, transform=transform, crs=crs, nodata=nodata) as dst:
        dst.write(array, 1)
    return path


def blocks_mask(shape: tuple[int, int], rng: np.random.Generator, *, n: int = 60, size: int = 12) -> np.ndarray:
    """Random square 'buildings' (uint8 0/1)."""
    mask = np.zeros(shape, np.uint8)
    for _ in range(n):
        r, c = rng.integers(0, shape[0] - size), rng.integers(0, shape[1] - size)
        mask[r:r + size, c:c + size] = 1
    return mask


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)

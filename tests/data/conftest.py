"""Tiny seeded rasters and labels for the data tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

UTM = "EPSG:32615"
ORIGIN = (360000.0, 4100000.0)


def write_tif(path: Path, array: np.ndarray, *, res_m: float = 0.5, crs: str | None = UTM,
              nodata: float | None = None, origin: tuple[float, float] = ORIGIN) -> Path:
    """Write ``[bands, h, w]`` (or ``[h, w]``) as a GeoTIFF north-up at ``origin``."""
    array = array[None] if array.ndim == 2 else array
    profile = {"driver": "GTiff", "width": array.shape[2], "height": array.shape[1], "count": array.shape[0],
               "dtype": array.dtype.name, "nodata": nodata}
    if crs is not None:
        profile.update(crs=crs, transform=Affine(res_m, 0, origin[0], 0, -res_m, origin[1]))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array)
    return path


@pytest.fixture
def make_tif():
    """The :func:`write_tif` helper, as a fixture."""
    return write_tif


@pytest.fixture
def toy_scene(tmp_path) -> dict:
    """A 96x80 RGB uint8 GeoTIFF at 0.5 m with a building mask (one 20x10 px block) and a road mask."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (3, 80, 96), dtype=np.uint8)
    buildings = np.zeros((80, 96), np.uint8)
    buildings[10:20, 30:50] = 1
    roads = np.zeros((80, 96), np.uint8)
    roads[60:66, :] = 1
    image[:, buildings > 0] = 250  # buildings are bright, so augmentations can be checked against the mask
    return {
        "image": write_tif(tmp_path / "image.tif", image),
        "buildings": write_tif(tmp_path / "buildings.tif", buildings),
        "roads": write_tif(tmp_path / "roads.tif", roads),
        "buildings_array": buildings,
        "roads_array": roads,
        "image_array": image,
    }

"""Tiny seeded rasters and labels for the data tests."""

from __future__ import annotations

import numpy as np
import pytest

from tests.rasters import write_geotiff


@pytest.fixture
def toy_scene(tmp_path) -> dict:
    """A 96x80 RGB uint8 GeoTIFF at 0.5 m from ``tests.rasters.ORIGIN``, a building mask (one 20x10 px block)
    and a road mask."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (3, 80, 96), dtype=np.uint8)
    buildings = np.zeros((80, 96), np.uint8)
    buildings[10:20, 30:50] = 1
    roads = np.zeros((80, 96), np.uint8)
    roads[60:66, :] = 1
    image[:, buildings > 0] = 250  # buildings are bright, so augmentations can be checked against the mask
    return {
        "image": write_geotiff(tmp_path / "image.tif", image),
        "buildings": write_geotiff(tmp_path / "buildings.tif", buildings),
        "roads": write_geotiff(tmp_path / "roads.tif", roads),
        "buildings_array": buildings,
        "roads_array": roads,
        "image_array": image,
    }

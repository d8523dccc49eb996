"""Fixtures for impact tests: small georeferenced rasters written by seeded code."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from tests.rasters import UTM

__all__ = ["TRANSFORM", "UTM", "blocks_mask"]

#: the grid of the impact tests' rasters (write them with ``write_geotiff(path, array, transform=TRANSFORM)``)
TRANSFORM = Affine(0.5, 0.0, 360000.0, 0.0, -0.5, 4110000.0)


def blocks_mask(shape: tuple[int, int], rng: np.random.Generator, *, n: int = 60, size: int = 12) -> np.ndarray:
    """Random square 'buildings' (uint8 0/1)."""
    mask = np.zeros(shape, np.uint8)
    for _ in range(n):
        r, c = rng.integers(0, shape[0] - size), rng.integers(0, shape[1] - size)
        mask[r : r + size, c : c + size] = 1
    return mask


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)

"""Quicklooks of the report's before/after images (issue 17.8: float imagery with NaN/inf is not black)."""

from __future__ import annotations

import numpy as np

from geovision.report.quicklook import read_quicklook
from tests.rasters import write_geotiff


def test_nan_and_inf_pixels_are_transparent_and_the_rest_is_stretched(tmp_path):
    data = np.random.default_rng(0).uniform(0.0, 0.3, (3, 200, 200)).astype(np.float32)  # reflectance
    data[:, :50] = np.nan
    data[:, 50:60] = np.inf
    image = read_quicklook(write_geotiff(tmp_path / "pre.tif", data), max_px=100)
    assert image.shape == (100, 100, 4)
    assert (image[:25, :, 3] == 0).all()  # NaN rows (decimated 2x) have no data
    finite = image[31:, :, :3]
    assert image[31:, :, 3].min() == 255 and finite.mean() > 60 and finite.std() > 20  # not a black square


def test_opaque_image_stays_rgb(tmp_path):
    data = np.random.default_rng(1).uniform(0, 1000, (3, 64, 64)).astype(np.float32)
    assert read_quicklook(write_geotiff(tmp_path / "a.tif", data), max_px=64).shape == (64, 64, 3)

from __future__ import annotations

import numpy as np
import pytest

from geovision.errors import ConfigError
from geovision.io.raster import open_raster
from geovision.io.scaling import Scaling, parse_scaling
from geovision.types import PixelWindow

from .conftest import random_image, write_raster

FULL = PixelWindow(0, 0, 128, 96)


def test_default_is_raw_values(image_tif):
    data, _ = open_raster(image_tif).read(FULL)
    assert data.max() > 1.0  # not silently rescaled


@pytest.mark.parametrize("method", ["dtype", "auto"])
def test_uint8_dtype_and_auto_divide_by_255(image_tif, method):
    data, _ = open_raster(image_tif, scaling=method).read(FULL)
    np.testing.assert_allclose(data, random_image(0) / 255.0, rtol=1e-6)


def test_percentile_stretch_per_band_ignores_nodata(tmp_path):
    rng = np.random.default_rng(0)
    image = np.stack([rng.integers(100, 1101, (96, 128)), rng.integers(1000, 3001, (96, 128))]).astype(np.uint16)
    image[:, :10] = 65535  # nodata: must not move the percentiles
    src = open_raster(
        write_raster(tmp_path / "u16.tif", image, nodata=65535),
        scaling={"method": "percentile", "percentiles": [2, 98]},
    )
    data, valid = src.read(FULL)
    low, high = src.stretch.low, src.stretch.high
    assert low[0] == pytest.approx(120, abs=10) and high[0] == pytest.approx(1080, abs=10)
    assert low[1] == pytest.approx(1040, abs=15) and high[1] == pytest.approx(2960, abs=15)
    assert data.min() == 0.0 and data.max() == 1.0
    assert 0.02 < (data[0][valid] == 0).mean() < 0.03  # ~2% clipped at the low end


def test_auto_on_uint16_is_percentile_and_float_is_raw(tmp_path):
    image = random_image(1, dtype="uint16", high=2047)
    assert open_raster(write_raster(tmp_path / "u.tif", image), scaling="auto").read(FULL)[0].max() == 1.0
    floats = random_image(1).astype(np.float32) / 7
    data, _ = open_raster(write_raster(tmp_path / "f.tif", floats), scaling="auto").read(FULL)
    np.testing.assert_array_equal(data, floats)


def test_fixed_per_band_values_and_no_clip(image_tif):
    src = open_raster(image_tif, scaling=Scaling("fixed", low=(0, 0, 100), high=(100, 200, 200), clip=False))
    data, _ = src.read(FULL)
    raw = random_image(0).astype(np.float32)
    np.testing.assert_allclose(data[2], (raw[2] - 100) / 100, rtol=1e-6)
    assert data[0].max() > 1.0  # not clipped


@pytest.mark.parametrize(
    "bad",
    [
        "stretchy",
        {"method": "fixed"},
        {"method": "percentile", "percentiles": [50, 10]},
        {"method": "dtype", "gamma": 2},
        3,
    ],
)
def test_bad_scaling_config(bad):
    with pytest.raises(ConfigError):
        parse_scaling(bad)


def test_per_band_values_must_match_band_count(image_tif):
    src = open_raster(image_tif, scaling={"method": "fixed", "low": [0, 0], "high": 255})
    with pytest.raises(ConfigError, match="2 values for 3 bands"):
        src.read(FULL)


def test_to8bit_leaves_uint8_unchanged(image_tif):
    src = open_raster(image_tif, scaling="to8bit")
    data, _ = src.read(FULL)
    assert src.stretch is None
    np.testing.assert_array_equal(data, random_image(0).astype(np.float32))


@pytest.mark.parametrize("dtype, span", [("uint16", 2047), ("float32", 0.8)])
def test_to8bit_stretches_other_types_to_8bit_units(tmp_path, dtype, span):
    """11-bit counts and float reflectance reach the model in the 0..255 units it was trained in."""
    rng = np.random.default_rng(1)
    image = (rng.uniform(0, 1, (3, 96, 128)) * span).astype(dtype)
    src = open_raster(write_raster(tmp_path / f"{dtype}.tif", image), scaling="to8bit")
    data, _ = src.read(FULL)
    assert data.min() == 0.0 and data.max() == 255.0
    assert 120 < float(data.mean()) < 135  # uniform values: the stretch keeps them centred
    assert 0.015 < (data == 255.0).mean() < 0.03  # the top 2 % clipped

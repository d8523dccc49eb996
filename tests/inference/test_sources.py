"""Inference sources hand the model 8-bit units whatever the input's bit depth."""

from __future__ import annotations

import numpy as np

from geovision.inference.sources import SourceSpec
from geovision.types import PixelWindow
from tests.rasters import write_geotiff


def _write(path, data) -> str:
    return str(write_geotiff(path, data, origin=(365000, 4100000)))


def test_pair_of_11bit_images_reaches_the_model_in_8bit_units(tmp_path):
    rng = np.random.default_rng(0)
    eight = rng.integers(0, 256, (3, 64, 80), dtype=np.uint8)
    pre = _write(tmp_path / "pre.tif", eight)
    post = _write(tmp_path / "post.tif", (eight.astype(np.uint16) * 8))  # the same scene as 11-bit counts
    images, valid = SourceSpec(pre=pre, post=post).open().read(PixelWindow(0, 0, 80, 64))
    assert valid.all()
    np.testing.assert_array_equal(images["pre"], eight.astype(np.float32))  # uint8: untouched
    assert images["post"].min() == 0 and images["post"].max() == 255
    correlation = np.corrcoef(images["pre"].ravel(), images["post"].ravel())[0, 1]
    assert correlation > 0.99 and abs(images["post"].mean() - images["pre"].mean()) < 10


def test_explicit_scaling_wins_and_still_ends_in_model_units(tmp_path):
    from geovision.io.scaling import Scaling

    counts = np.full((3, 16, 16), 1000, np.uint16)
    counts[:, :8] = 2047
    path = _write(tmp_path / "a.tif", counts)
    images, _ = SourceSpec(pre=path, scaling=Scaling("fixed", low=0, high=2047)).open().read(PixelWindow(0, 0, 16, 16))
    np.testing.assert_allclose(images["scene"][:, :8], 255.0, rtol=1e-6)  # 11-bit range -> 0..255
    np.testing.assert_allclose(images["scene"][:, 8:], 1000 / 2047 * 255, rtol=1e-5)
    images, _ = SourceSpec(pre=path, scaling="dtype").open().read(PixelWindow(0, 0, 16, 16))
    np.testing.assert_allclose(images["scene"][:, 8:], 1000 / 65535 * 255, rtol=1e-5)  # uint16 range -> 0..255
    images, _ = SourceSpec(pre=path, scaling="none").open().read(PixelWindow(0, 0, 16, 16))
    np.testing.assert_array_equal(images["scene"], counts.astype(np.float32))  # none: raw, as asked

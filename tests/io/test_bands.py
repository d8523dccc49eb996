"""Automatic band choice for a model (geovision.io.bands) and reading repeated (pan) bands."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.enums import ColorInterp

from geovision.errors import BandCountError
from geovision.io.align import align_pair
from geovision.io.bands import RGB, plan_bands
from geovision.io.raster import open_raster
from geovision.types import PixelWindow
from tests.rasters import write_geotiff

WORLDVIEW = ("Coastal", "Blue", "Green", "Yellow", "Red", "Red Edge", "NIR1", "NIR2")


def write(path, count, *, dtype="uint16", colorinterp=None, descriptions=None, size=64, seed=0):
    """A seeded random GeoTIFF; optional colour interpretation and band descriptions."""
    data = np.random.default_rng(seed).integers(1, 2000, (count, size, size)).astype(dtype)
    return str(write_geotiff(path, data, colorinterp=colorinterp, descriptions=descriptions))


def plan_of(path, **kwargs):
    with rasterio.open(path) as dataset:
        return plan_bands(dataset, RGB, **kwargs)


def test_single_band_is_pan_chromatic(tmp_path):
    plan = plan_of(write(tmp_path / "pan.tif", 1))
    assert plan.bands == (1, 1, 1) and plan.reason.startswith("pan-chromatic")
    assert plan.to_json() == {"file_bands": [1, 1, 1], "model_bands": list(RGB), "reason": plan.reason}


def test_rgbn_by_colour_interpretation(tmp_path):
    ci = ColorInterp
    plan = plan_of(write(tmp_path / "bgrn.tif", 4, colorinterp=[ci.blue, ci.green, ci.red, ci.nir]))
    assert plan.bands == (3, 2, 1) and plan.reason == "colour interpretation"
    assert plan.describe() == "red <- band 3, green <- band 2, blue <- band 1 (colour interpretation)"


def test_rgba_uses_the_colour_bands(tmp_path):
    plan = plan_of(write(tmp_path / "rgba.tif", 4, dtype="uint8"))  # GDAL's default for 4 x uint8: RGBA
    assert plan.bands == (1, 2, 3) and plan.reason == "colour interpretation"


def test_worldview_descriptions(tmp_path):
    plan = plan_of(write(tmp_path / "wv.tif", 8, descriptions=WORLDVIEW))
    assert plan.bands == (5, 3, 2) and plan.reason == "band descriptions"
    short = plan_of(write(tmp_path / "short.tif", 4, descriptions=("NIR", "B", "G", "R")))
    assert short.bands == (4, 3, 2)


def test_red_edge_is_not_red(tmp_path):
    path = write(tmp_path / "edge.tif", 4, descriptions=("Blue", "Green", "Red Edge", "NIR"))
    with pytest.raises(BandCountError, match="edge.tif.*cannot tell"):
        plan_of(path)


def test_three_unnamed_bands_in_order(tmp_path):
    plan = plan_of(write(tmp_path / "three.tif", 3))  # uint16: gray, undefined, undefined
    assert plan.bands == (1, 2, 3) and plan.reason == "first 3 non-alpha bands"


def test_unnamed_four_bands_is_a_clear_error(tmp_path):
    path = write(tmp_path / "plain4.tif", 4)
    with pytest.raises(BandCountError) as error:
        plan_of(path)
    assert "plain4.tif" in str(error.value.path) and "4 bands" in error.value.message
    assert "1: gray" in error.value.message and "4: undefined" in error.value.message
    assert "--bands R,G,B" in error.value.fix


def test_explicit_bands_win(tmp_path):
    ci = ColorInterp
    path = write(tmp_path / "rgbn.tif", 4, colorinterp=[ci.red, ci.green, ci.blue, ci.nir])
    assert plan_of(path, bands=[4, 3, 2]).bands == (4, 3, 2)
    assert plan_of(path, bands=[4, 3, 2]).reason == "--bands"
    assert open_raster(path, bands=[4, 3, 2], model_bands=RGB).bands == [4, 3, 2]


def test_palette_band_is_refused(tmp_path):
    path = write(tmp_path / "palette.tif", 1, dtype="uint8")
    with rasterio.open(path, "r+") as dst:
        dst.write_colormap(1, {0: (0, 0, 0, 255), 1: (255, 0, 0, 255)})
    with pytest.raises(BandCountError, match="palette"):
        plan_of(path)


def test_pan_reads_one_band_three_times(tmp_path):
    path = write(tmp_path / "pan.tif", 1, seed=4)
    with open_raster(path, model_bands=RGB, scaling="percentile") as source:
        assert source.bands == [1, 1, 1] and source.band_plan.reason.startswith("pan")
        data, valid = source.read(PixelWindow(-8, -8, 48, 48))
        assert data.shape == (3, 48, 48) and valid[8:, 8:].all() and not valid[:8].any()
        np.testing.assert_array_equal(data[0], data[1])
        np.testing.assert_array_equal(data[0], data[2])
        assert data[0][valid].max() > 0
    with open_raster(path) as plain:  # no model: every non-alpha band, as before
        assert plain.bands == [1] and plain.band_plan is None


def test_pair_of_pan_and_worldview(tmp_path):
    pre = write(tmp_path / "pre.tif", 1, seed=1)
    post = write(tmp_path / "post.tif", 8, descriptions=WORLDVIEW, seed=2)
    with align_pair(pre, post, model_bands=RGB, scaling="dtype") as pair:
        assert pair.pre.bands == [1, 1, 1] and pair.post.bands == [5, 3, 2] and pair.count == 3
        sample = pair.read(PixelWindow(0, 0, 64, 64))
        np.testing.assert_array_equal(sample["image_pre"][0], sample["image_pre"][2])
        with rasterio.open(post) as src:
            np.testing.assert_allclose(sample["image_post"][0], src.read(5) / 65535, rtol=1e-5)

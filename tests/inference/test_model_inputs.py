"""The engine checks the image against the model: band count, and resolution (GSD) of a pair."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from geovision.errors import BandCountError
from geovision.inference.engine import SegmentOptions, segment_scene
from geovision.inference.predictor import ModelRef
from geovision.inference.sources import SourceSpec
from tests.rasters import write_geotiff

from .conftest import make_dummy_model

OPTIONS = SegmentOptions(chip_px=128, overlap_px=16, batch_windows=1)


def _write(path, *, bands=3, res=0.5, size=192):
    data = np.random.default_rng(0).integers(0, 256, (bands, size, size), dtype=np.uint8)
    return str(write_geotiff(path, data, res_m=res, origin=(365000, 4100000)))


def _model(gsd_m):
    return dataclasses.replace(make_dummy_model(0), gsd_m=gsd_m)


def _ref(gsd_m=0.5):
    return ModelRef(key=f"dummy-gsd{gsd_m}", load=functools.partial(_model, gsd_m), runtime="fp32", device="cpu")


def test_wrong_band_count_names_the_file_and_the_fix(tmp_path):
    pre, post = _write(tmp_path / "pre.tif", bands=5), _write(tmp_path / "post.tif", bands=5)
    with pytest.raises(BandCountError, match="5 band") as error:
        segment_scene(SourceSpec(pre=pre, post=post), _ref(), tmp_path / "out", options=OPTIONS)
    assert error.value.path and "pre.tif" in str(error.value.path) and "--bands" in error.value.fix
    assert not (tmp_path / "out").exists()
    ok = segment_scene(SourceSpec(pre=pre, post=post, bands=(1, 2, 3)), _ref(), tmp_path / "out", options=OPTIONS)
    assert ok.width == 192


def test_pair_far_from_the_model_gsd_is_resampled_to_it(tmp_path):
    pre, post = _write(tmp_path / "pre.tif", res=0.3), _write(tmp_path / "post.tif", res=0.3)
    result = segment_scene(SourceSpec(pre=pre, post=post), _ref(0.5), tmp_path / "auto", options=OPTIONS)
    assert result.extra["res_m"] == pytest.approx(0.5) and result.width == round(192 * 0.3 / 0.5)
    with rasterio.open(result.outputs["buildings_pre_mask"]) as src:
        assert src.res == pytest.approx((0.5, 0.5))
    asked = segment_scene(SourceSpec(pre=pre, post=post, res_m=0.3), _ref(0.5), tmp_path / "asked", options=OPTIONS)
    assert asked.extra["res_m"] == pytest.approx(0.3) and asked.width == 192
    close = segment_scene(SourceSpec(pre=pre, post=post), _ref(0.33), tmp_path / "close", options=OPTIONS)
    assert close.extra["res_m"] == pytest.approx(0.3)  # within 25 %: native grid, nothing resampled


def test_single_image_far_from_the_model_gsd_warns(tmp_path):
    image = _write(tmp_path / "scene.tif", res=0.3)
    with pytest.warns(UserWarning, match="gdalwarp"):
        segment_scene(SourceSpec(pre=image), _ref(0.5), tmp_path / "out", options=OPTIONS)


def test_cli_bands_option_and_exit_code(tmp_path):
    from geovision.cli.main import cli

    pre, post = _write(tmp_path / "pre.tif", bands=5), _write(tmp_path / "post.tif", bands=5)

    def segment(*extra):
        return CliRunner().invoke(
            cli, ["segment", "--pre", pre, "--post", post, "--out", str(tmp_path / "o"), "--model", "default", *extra]
        )

    result = segment("--bands", "1,2,3,4")  # the shipped default model takes 3 bands
    assert result.exit_code == 2 and "needs 3" in result.output and "pre.tif" in result.output
    assert "--bands 1,2,3,4 selects 4 band(s)" in result.output  # not "image has 4 band(s)": it has 5
    assert not (tmp_path / "o").exists()
    result = segment("--bands", "1,x")
    assert result.exit_code == 2 and "comma-separated" in result.output
    result = segment("--bands", "0,1,2")
    assert result.exit_code == 2 and "start at 1" in result.output


def _rgb_ref():
    model = functools.partial(dataclasses.replace, make_dummy_model(0), gsd_m=0.5, band_names=("red", "green", "blue"))
    return ModelRef(key="dummy-rgb", load=model, runtime="fp32", device="cpu")


def test_pan_image_segments_without_a_band_flag(tmp_path, caplog):
    """A 1-band GeoTIFF feeds the same band to red, green and blue; the choice is logged and returned."""
    pan = _write(tmp_path / "pan.tif", bands=1)
    with caplog.at_level("INFO", logger="geovision.inference.engine"):
        result = segment_scene(SourceSpec(pre=pan), _rgb_ref(), tmp_path / "out", options=OPTIONS)
    assert result.width == 192 and result.outputs["buildings_scene_mask"].exists()
    assert result.extra["bands"]["scene"]["file_bands"] == [1, 1, 1]
    assert "red <- band 1, green <- band 1, blue <- band 1 (pan-chromatic" in caplog.text


def test_pair_of_pan_and_worldview_bands(tmp_path):
    pre = _write(tmp_path / "pre.tif", bands=1)
    post = _write(tmp_path / "post.tif", bands=8)
    with rasterio.open(post, "r+") as dst:
        for band, text in enumerate(("Coastal", "Blue", "Green", "Yellow", "Red", "Red Edge", "NIR1", "NIR2"), 1):
            dst.set_band_description(band, text)
    result = segment_scene(SourceSpec(pre=pre, post=post), _rgb_ref(), tmp_path / "out", options=OPTIONS)
    assert result.extra["bands"]["post"] == {
        "file_bands": [5, 3, 2],
        "model_bands": ["red", "green", "blue"],
        "reason": "band descriptions",
    }
    assert result.extra["bands"]["pre"]["reason"].startswith("pan-chromatic")

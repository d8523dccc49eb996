"""Segmenter: in-memory arrays through the engine's path give the engine's probabilities and masks."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import torch

from geovision.errors import ConfigError, ModelBundleError
from geovision.inference.engine import SegmentOptions, segment_scene
from geovision.inference.predictor import PROB_SCALE, bundle_ref
from geovision.inference.segmenter import Segmenter, decimated_sample
from geovision.inference.sources import SourceSpec
from geovision.io.raster import open_raster
from geovision.models.bundle import BundleMeta, DataSource, Normalization, TrainingInfo, save_bundle
from geovision.models.multitask import build_model
from geovision.models.spec import ModelSpec
from tests.rasters import write_geotiff

TINY = ModelSpec(encoder="tu-mobilenetv3_small_050", encoder_weights=None, decoder_channels=(16, 16, 8, 8, 8))
OPTIONS = SegmentOptions(chip_px=128, overlap_px=16, batch_windows=2)
TASKS = ("buildings", "roads")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A tiny random-weight bundle (plumbing, not accuracy)."""
    torch.manual_seed(0)
    meta = BundleMeta(
        architecture=TINY,
        bands=("red", "green", "blue"),
        normalization=Normalization(mean=(120.0, 110.0, 100.0), std=(60.0, 55.0, 50.0)),
        gsd_m=0.5,
        thresholds={"buildings": 0.45, "roads": 0.55},
        training=TrainingInfo(data=[DataSource(name="none (random weights, test only)", licence="Apache-2.0")]),
    )
    return save_bundle(tmp_path_factory.mktemp("bundle") / "tiny", build_model(TINY, pretrained=False).eval(), meta)


@pytest.fixture(scope="module")
def segmenter(bundle) -> Segmenter:
    return Segmenter.from_bundle(bundle, runtime="fp32", device="cpu", options=OPTIONS)


def scene(dtype: str, *, height: int = 150, width: int = 230, seed: int = 1) -> np.ndarray:
    """Smooth-ish random imagery (so the model's outputs vary) with a zero (nodata) corner."""
    rng = np.random.default_rng(seed)
    top = 255 if dtype == "uint8" else 2047
    base = rng.integers(1, top, (3, height // 10 + 1, width // 10 + 1)).repeat(10, 1).repeat(10, 2)
    data = (base[:, :height, :width] + rng.integers(0, top // 8, (3, height, width))).clip(1, top).astype(dtype)
    data[:, :12, :30] = 0
    return data


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_predict_equals_the_engine_on_the_same_pixels(segmenter, bundle, tmp_path, dtype):
    data = scene(dtype)
    path = write_geotiff(tmp_path / "scene.tif", data, nodata=0)  # default scaling: to8bit (uint16 stretched)
    ref = bundle_ref(str(bundle), runtime="fp32", device="cpu")
    result = segment_scene(SourceSpec(pre=str(path)), ref, tmp_path / "out", options=OPTIONS)
    assert result.windows > 1  # several windows: the tiling is the engine's

    valid = (data != 0).all(axis=0)
    probs = segmenter.predict(data, valid=valid)
    masks = segmenter.predict_masks(data, valid=valid)
    for task in TASKS:
        with rasterio.open(result.outputs[f"{task}_scene_prob"]) as src:
            stored = src.read(1)
        with rasterio.open(result.outputs[f"{task}_scene_mask"]) as src:
            engine_mask = src.read(1)
        assert ((stored == 255) == ~valid).all()
        assert np.isnan(probs[task][~valid]).all()
        assert np.abs(probs[task][valid] - stored[valid] / PROB_SCALE).max() <= 1 / PROB_SCALE
        assert np.array_equal(masks[task], engine_mask)
        assert probs[task][valid].std() > 0  # not a constant output


def test_shapes_dtypes_range_and_band_layouts(segmenter):
    data = scene("uint8", height=70, width=90)  # smaller than a chip: one padded window
    probs = segmenter.predict(data)
    assert sorted(probs) == sorted(TASKS) == sorted(segmenter.tasks)
    for prob in probs.values():
        assert prob.shape == (70, 90) and prob.dtype == np.float32
        assert np.isfinite(prob).all() and 0.0 <= prob.min() <= prob.max() <= 1.0
    channels_last = segmenter.predict(np.ascontiguousarray(data.transpose(1, 2, 0)))
    for task in TASKS:
        np.testing.assert_array_equal(channels_last[task], probs[task])

    valid = (data != 0).all(axis=0)
    masks = segmenter.predict_masks(data, valid=valid)
    probs_valid = segmenter.predict(data, valid=valid)
    for task, mask in masks.items():
        assert mask.shape == (70, 90) and mask.dtype == np.uint8
        assert set(np.unique(mask)) <= {0, 1, 255} and (mask[:12, :30] == 255).all()
        assert np.isnan(probs_valid[task][:12, :30]).all()
        expected = (probs_valid[task] >= segmenter.thresholds[task]).astype(np.uint8)
        np.testing.assert_array_equal(mask[valid], expected[valid])
    everything = segmenter.predict_masks(data, threshold=0.0)
    assert all((mask == 1).all() for mask in everything.values())
    one = segmenter.predict_masks(data, threshold={"roads": 1.01})
    assert (one["roads"] == 0).all() and np.array_equal(one["buildings"], segmenter.predict_masks(data)["buildings"])

    floats = segmenter.predict(data.astype(np.float32) / 255, valid=None)  # floats: stretched like uint16
    nan = data.astype(np.float32)
    nan[:, 0, 0] = np.nan
    assert np.isnan(segmenter.predict(nan)["buildings"][0, 0])  # a non-finite pixel is invalid
    assert all(np.isfinite(p).all() for p in floats.values())
    assert np.isfinite(segmenter.predict(data.astype(np.float32), scaling="none")["roads"]).all()


def test_properties(segmenter, bundle):
    assert segmenter.tasks == TASKS
    assert segmenter.input_bands == ("red", "green", "blue")
    assert segmenter.gsd_m == 0.5
    assert segmenter.meta.normalization.mean == (120.0, 110.0, 100.0)
    assert segmenter.thresholds == {"buildings": 0.45, "roads": 0.55}
    assert "tasks=('buildings', 'roads')" in repr(segmenter)


@pytest.mark.parametrize(
    "shape",
    [(150, 230), (4, 64, 64), (64, 64, 5), (1, 3, 64, 64), (2, 64, 2)],
)
def test_a_wrong_shape_is_a_config_error(segmenter, shape):
    with pytest.raises(ConfigError, match="not \\[bands, H, W\\]"):
        segmenter.predict(np.zeros(shape, np.uint8))


def test_bad_valid_masks_types_and_thresholds_are_config_errors(segmenter):
    image = np.zeros((3, 64, 64), np.uint8)
    with pytest.raises(ConfigError, match="valid mask"):
        segmenter.predict(image, valid=np.ones((64, 63), bool))
    with pytest.raises(ConfigError, match="intensities"):
        segmenter.predict(image.astype(np.complex64))
    with pytest.raises(ConfigError, match="unknown task"):
        segmenter.predict_masks(image, threshold={"trees": 0.5})
    with pytest.raises(ConfigError, match="multiple of 32"):
        Segmenter(segmenter.ref, segmenter.meta, options=SegmentOptions(chip_px=100))


def test_from_bundle_on_a_folder_that_is_not_a_bundle(tmp_path):
    with pytest.raises(ModelBundleError, match="no model bundle"):
        Segmenter.from_bundle(tmp_path)
    (tmp_path / "model.json").write_text('{"format": "something else"}')
    with pytest.raises(ModelBundleError, match="unknown model bundle format"):
        Segmenter.from_bundle(tmp_path)


def test_the_stretch_sample_is_the_raster_readers(tmp_path):
    rng = np.random.default_rng(5)
    data = rng.integers(0, 4096, (2, 90, 2100), dtype=np.uint16)
    valid = np.ones(data.shape[1:], bool)
    with open_raster(write_geotiff(tmp_path / "wide.tif", data)) as raster:
        sample, sample_valid = raster.sample()
    mine, mine_valid = decimated_sample(data, valid)
    np.testing.assert_array_equal(mine, sample)
    np.testing.assert_array_equal(mine_valid, sample_valid)

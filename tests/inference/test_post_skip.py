"""--skip-post-without-features: post windows without a pre-event feature are not predicted, the DII is unchanged."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from torch import nn

from geovision.cli.main import cli
from geovision.impact.workflow import dii_from_files
from geovision.inference import batches
from geovision.inference.engine import SegmentOptions, segment_scene
from geovision.inference.post_skip import has_features
from geovision.inference.predictor import InferenceModel, ModelRef
from geovision.inference.sources import SourceSpec
from geovision.runconfig import RunConfig
from tests.rasters import write_geotiff

CHIP, OVERLAP = 128, 16


class BrightIsFeature(nn.Module):
    """Buildings and roads wherever the image is bright (a 3x3 mean above the band means)."""

    tasks = ("buildings", "roads")

    def forward(self, x):
        y = nn.functional.avg_pool2d(x.mean(1, keepdim=True), 3, stride=1, padding=1) * 8.0
        return {"buildings": y, "roads": y - 2.0}


def bright_model() -> InferenceModel:
    return InferenceModel(
        module=BrightIsFeature(),
        tasks=("buildings", "roads"),
        mean=(127.5,) * 3,
        std=(127.5,) * 3,
        thresholds={"buildings": 0.5, "roads": 0.5},
    )


def bright_ref() -> ModelRef:
    return ModelRef(key="bright", load=functools.partial(bright_model), runtime="fp32", device="cpu")


@pytest.fixture
def sparse_pair(tmp_path):
    """A dark 480 x 400 px pair with bright 'buildings' in two places before and some of them gone after."""
    rng = np.random.default_rng(0)
    pre = rng.integers(0, 60, (3, 400, 480), dtype=np.uint8)
    post = rng.integers(0, 60, (3, 400, 480), dtype=np.uint8)
    for r, c in [(30, 40), (60, 90), (300, 400), (340, 420)]:
        pre[:, r : r + 12, c : c + 12] = 250
    for r, c in [(30, 40), (340, 420), (200, 250)]:  # (200, 250): built after the event, far from any pre feature
        post[:, r : r + 12, c : c + 12] = 250
    write = functools.partial(write_geotiff, origin=(365000, 4100000), block_px=256)
    return SourceSpec(pre=str(write(tmp_path / "pre.tif", pre)), post=str(write(tmp_path / "post.tif", post)))


def run(spec: SourceSpec, out, *, skip: bool):
    options = SegmentOptions(chip_px=CHIP, overlap_px=OVERLAP, batch_windows=2, skip_post_without_features=skip)
    return segment_scene(spec, bright_ref(), out, options=options)


def read(path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def test_has_features_needs_a_valid_pixel_over_threshold():
    chip = {"buildings": np.array([[0.2, 0.7]]), "roads": np.array([[0.1, 0.1]])}
    assert has_features(chip, np.array([[True, True]]), {"buildings": 0.5, "roads": 0.5})
    assert not has_features(chip, np.array([[True, False]]), {"buildings": 0.5, "roads": 0.5})
    assert not has_features(chip, np.array([[True, True]]), {"buildings": 0.8, "roads": 0.5})


def test_skipped_windows_change_no_pre_output_and_no_dii(sparse_pair, tmp_path):
    full = run(sparse_pair, tmp_path / "full", skip=False)
    fast = run(sparse_pair, tmp_path / "fast", skip=True)
    skipped = fast.extra["post_windows_skipped"]
    assert 0 < skipped < fast.windows
    assert "post_windows_skipped" not in full.extra
    for name in full.outputs:
        if "_pre_" in name or name == "valid":
            assert np.array_equal(read(full.outputs[name]), read(fast.outputs[name])), name
    for task in ("buildings", "roads"):
        pre, post_full, post_fast = (
            read(o[f"{task}_{d}_mask"])
            for o, d in ((full.outputs, "pre"), (full.outputs, "post"), (fast.outputs, "post"))
        )
        differ = post_full != post_fast
        assert post_fast[differ].max() == 0  # only ever 'none' where not predicted
        if task == "buildings":
            assert post_full[202:210, 252:260].all() and not post_fast[200:212, 250:262].any()  # the new building
        assert not (differ & pre.astype(bool)).any()
        grids = [
            dii_from_files(o[f"{task}_pre_mask"], o[f"{task}_post_mask"], cell_px=40, tolerance_px=OVERLAP // 2)
            for o in (full.outputs, fast.outputs)
        ]
        assert grids[0]["c"].sum() > 0  # lost pixels exist, and are the same
        for variable in grids[0].data_vars:
            np.testing.assert_array_equal(grids[0][variable].values, grids[1][variable].values, err_msg=variable)


def test_model_calls_keep_two_images_per_window(sparse_pair, tmp_path, monkeypatch):
    sizes = []
    real = batches.predict_skipping_post.__globals__["run_images"]

    def counting(runtime, images):
        sizes.append(len(images))
        return real(runtime, images)

    monkeypatch.setitem(batches.predict_skipping_post.__globals__, "run_images", counting)
    result = run(sparse_pair, tmp_path / "out", skip=True)
    assert sum(sizes) == 2 * result.windows - result.extra["post_windows_skipped"]
    assert max(sizes) <= 4  # batch_windows=2: this batch's pre images and the last batch's post images


def test_resume_counts_skipped_windows_of_the_first_attempt(sparse_pair, tmp_path, monkeypatch):
    reference = run(sparse_pair, tmp_path / "ref", skip=True)
    out = tmp_path / "out"
    options = SegmentOptions(chip_px=CHIP, overlap_px=OVERLAP, batch_windows=2, skip_post_without_features=True)
    real_save, saved = batches.WorkStore.save, []

    def failing_save(self, batch_id, arrays):
        if len(saved) == 3:
            raise KeyboardInterrupt
        saved.append(batch_id)
        real_save(self, batch_id, arrays)

    monkeypatch.setattr(batches.WorkStore, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        segment_scene(sparse_pair, bright_ref(), out, options=options)
    monkeypatch.setattr(batches.WorkStore, "save", real_save)
    resumed = segment_scene(sparse_pair, bright_ref(), out, options=options, resume=True)
    assert resumed.batches_resumed == 3
    assert resumed.extra["post_windows_skipped"] == reference.extra["post_windows_skipped"]
    for name, path in reference.outputs.items():
        assert np.array_equal(read(path), read(resumed.outputs[name])), name


def test_a_single_image_has_nothing_to_skip(sparse_pair, tmp_path):
    result = segment_scene(
        SourceSpec(pre=sparse_pair.pre),
        bright_ref(),
        tmp_path / "out",
        options=SegmentOptions(chip_px=CHIP, overlap_px=OVERLAP, skip_post_without_features=True),
    )
    assert "post_windows_skipped" not in result.extra


def test_post_outputs_say_where_they_were_not_predicted(sparse_pair, tmp_path):
    outputs = run(sparse_pair, tmp_path / "out", skip=True).outputs
    with rasterio.open(outputs["buildings_post_mask"]) as post, rasterio.open(outputs["buildings_pre_mask"]) as pre:
        assert "not predicted" in post.descriptions[0]
        assert "not predicted" not in pre.descriptions[0]


def test_run_config_refuses_a_tolerance_beyond_the_halo():
    RunConfig.model_validate({"segment": {"skip_post_without_features": True, "overlap_px": 64}})
    with pytest.raises(ValueError, match="tolerance_px"):
        RunConfig.model_validate(
            {"segment": {"skip_post_without_features": True, "overlap_px": 2}, "grid": {"tolerance_px": 2}}
        )


def test_segment_cli_reports_skipped_windows(sparse_pair, tmp_path, monkeypatch):
    monkeypatch.setattr("geovision.inference.predictor.bundle_ref", lambda *a, **k: bright_ref())
    args = ["segment", "--pre", sparse_pair.pre, "--post", sparse_pair.post, "--out", str(tmp_path / "o")]
    args += ["--chip-px", str(CHIP), "--overlap-px", str(OVERLAP), "--skip-post-without-features"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "post windows without pre-event features skipped" in result.output

"""Tiled prediction with centre-crop blending equals one pass over the whole image."""

import numpy as np
import pytest
import torch

from geovision.inference.predictor import normalise, predict_batch, quantise_probability
from geovision.inference.runtime import TorchRuntime
from geovision.io.windows import plan_windows


def _whole_image_probs(scene, model, runtime):
    out = {}
    for date in scene.dates:
        x = normalise(scene.images[date], model.mean, model.std, scene.valid)[None]
        probs = runtime(x)
        out[date] = {task: probs[task][0] for task in model.tasks}
    return out


def _tiled(scene, model, runtime, chip_px, overlap_px, batch):
    windows = plan_windows(scene.width, scene.height, chip_px=chip_px, overlap_px=overlap_px)
    mosaic = {
        f"{t}_{d}_{k}": np.full((scene.height, scene.width), 77, np.uint8)
        for d in scene.dates
        for t in model.tasks
        for k in ("prob", "mask")
    }
    for start in range(0, len(windows), batch):
        group = windows[start : start + batch]
        arrays = predict_batch(scene, group, runtime, model)
        for i, window in enumerate(group):
            for name in mosaic:
                mosaic[name][window.crop.row_slice, window.crop.col_slice] = arrays[f"w{i}_{name}"]
    return mosaic


@pytest.mark.parametrize("chip_px, overlap_px, batch", [(64, 8, 3), (32, 10, 1), (96, 16, 5)])
def test_tiled_equals_whole_image(array_scene, dummy_model, chip_px, overlap_px, batch):
    torch.set_num_threads(1)
    runtime = TorchRuntime(dummy_model.module, dummy_model.tasks, device=torch.device("cpu"), precision="fp32")
    whole = _whole_image_probs(array_scene, dummy_model, runtime)
    tiled = _tiled(array_scene, dummy_model, runtime, chip_px, overlap_px, batch)
    valid = array_scene.valid
    for date in array_scene.dates:
        for task in dummy_model.tasks:
            expected = quantise_probability(whole[date][task], valid)
            got = tiled[f"{task}_{date}_prob"]
            assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1  # float rounding only
            assert (got == expected).mean() > 0.999
            mask = tiled[f"{task}_{date}_mask"]
            near_threshold = np.abs(whole[date][task] - 0.5) < 1e-5
            expected_mask = np.where(valid, whole[date][task] >= 0.5, 255)
            assert np.array_equal(mask[~near_threshold], expected_mask[~near_threshold])
            assert (mask[~valid] == 255).all() and (got[~valid] == 255).all()


def test_overlap_smaller_than_receptive_field_shows_seams(array_scene, dummy_model):
    """The test above can fail: without overlap the chip borders differ from the whole pass."""
    runtime = TorchRuntime(dummy_model.module, dummy_model.tasks, device=torch.device("cpu"), precision="fp32")
    whole = _whole_image_probs(array_scene, dummy_model, runtime)
    tiled = _tiled(array_scene, dummy_model, runtime, 32, 0, 4)
    expected = quantise_probability(whole["pre"]["buildings"], array_scene.valid)
    assert np.abs(tiled["buildings_pre_prob"].astype(int) - expected.astype(int)).max() > 1

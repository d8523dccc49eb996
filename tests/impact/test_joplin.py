"""Joplin tornado (xBD, 3 tiles as one georeferenced strip): DII from the ground-truth polygons.

The default model does not exist yet: ``evaluate_dii`` takes its pre/post predictions
when it does. Here a perturbed copy of the truth stands in for a prediction.
"""

import numpy as np
import pytest
from scipy import ndimage

from geovision.impact.dii import compute_dii_grid, flag_impacted
from geovision.impact.evaluate_impact import evaluate_dii
from geovision.impact.xbd import xbd_mosaic

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def strip(shared_data):
    labels = sorted((shared_data / "xbd_joplin_tornado" / "labels").glob("*_post_disaster.json"))
    assert len(labels) == 3
    mosaic = xbd_mosaic(labels)
    return mosaic.pre, mosaic.post, mosaic.transform, mosaic.crs


def test_strip_is_one_georeferenced_grid(strip):
    pre, post, transform, crs = strip
    assert pre.shape == post.shape == (1024, 3072)
    assert crs.to_epsg() == 32615
    assert transform.a == pytest.approx(0.45128, abs=1e-3)
    assert (transform.c, transform.f) == pytest.approx((365823.81, 4103219.95), abs=0.5)
    assert np.all(post <= pre) and post.sum() < pre.sum()


def test_ground_truth_dii_flags_the_track(strip):
    pre, post, transform, crs = strip
    ds = compute_dii_grid(pre, post, cell_px=256, transform=transform, crs=crs)
    flags = flag_impacted(ds, 0.1).to_numpy()
    assert ds["dii"].shape == (4, 12) and np.isfinite(ds["dii"]).sum() >= 40
    per_tile = [np.nansum(flags[:, 4 * t : 4 * t + 4]) for t in range(3)]
    assert per_tile[0] > per_tile[2]  # tile 0 is the most damaged
    assert float(ds["c"].sum()) == float((pre & ~post).sum())


def test_predictions_plug_in(strip):
    pre, post, transform, crs = strip
    perfect = evaluate_dii(pre, post, pre, post, cell_px=256, theta=0.1, transform=transform, crs=crs)
    assert perfect["scores"]["f1"] == 1.0
    rng = np.random.default_rng(0)
    # a stand-in "prediction": eroded footprints, a 2 px shift after, and 3 % pixel noise, as probabilities
    pred_pre = ndimage.binary_erosion(pre, iterations=1).astype(np.float32)
    pred_post = np.roll(post, (2, 2), axis=(0, 1)).astype(np.float32)
    pred_post = np.clip(pred_post + (rng.random(post.shape) < 0.03), 0, 1) * 0.9
    degraded = evaluate_dii(
        pred_pre, pred_post, pre, post, cell_px=256, theta=0.1, tolerance_px=2, transform=transform, crs=crs
    )
    assert degraded["scores"]["f1"] >= 0.8
    assert set(degraded["curve"].columns) >= {"theta", "precision", "recall", "f1"}

"""xView2 score on hand-computed masks."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from geovision.evaluate.rasters import score_damage_rasters
from geovision.evaluate.xview2 import XView2Counts, harmonic_mean


def test_class_counts_only_from_images_whose_truth_has_the_class():
    counts = XView2Counts()
    counts.add_image(np.array([[1, 2, 4, 3]]), np.array([[1, 2, 4, 4]]))  # class 3 absent: its FP is dropped
    counts.add_image(np.array([[3]]), np.array([[3]]))
    f1s = counts.damage_f1s
    assert f1s == pytest.approx({"no_damage": 1.0, "minor_damage": 1.0, "major_damage": 1.0, "destroyed": 2 / 3})
    assert counts.localization_f1 == 1.0
    damage = 4 / (3 / (1 + 1e-6) + 1 / (2 / 3 + 1e-6))
    assert counts.damage_f1 == pytest.approx(damage)
    assert counts.score == pytest.approx(0.3 + 0.7 * damage)


def test_damage_is_credited_only_where_a_building_is_predicted():
    counts = XView2Counts()
    pred = np.array([[4, 4, 0, 1]])
    truth = np.array([[4, 4, 4, 0]])
    localization = np.array([[1, 0, 0, 1]])
    counts.add_image(pred, truth, pred_localization=localization)
    assert (counts.localization.tp, counts.localization.fp, counts.localization.fn) == (1, 1, 2)
    destroyed = counts.damage[4]
    assert (destroyed.tp, destroyed.fp, destroyed.fn) == (1, 0, 2)


def test_missing_class_gives_near_zero_damage_f1():
    counts = XView2Counts()
    counts.add_image(np.array([[1, 2, 3]]), np.array([[1, 2, 3]]))  # no "destroyed" anywhere
    assert counts.damage_f1s["destroyed"] == 0.0
    assert counts.damage_f1 == pytest.approx(harmonic_mean([1, 1, 1, 0]))
    assert counts.damage_f1 < 1e-5


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_damage_rasters_windowed_with_unclassified_pixels_ignored(tmp_path):
    truth = np.zeros((40, 40), np.uint8)
    truth[5:15, 5:15] = 1
    truth[20:30, 20:30] = 4
    truth[0:2, 30:40] = 5  # xBD "un-classified": not scored
    pred = truth.copy()
    pred[0:2, 30:40] = 3
    for name, array in (("truth.png", truth), ("pred.png", pred)):
        with rasterio.open(tmp_path / name, "w", driver="PNG", height=40, width=40, count=1, dtype="uint8") as dst:
            dst.write(array, 1)
    counts = score_damage_rasters(tmp_path / "pred.png", tmp_path / "truth.png", window_px=16)
    assert counts.localization.fp == 0 and counts.localization.tp == 200
    assert counts.damage_f1s["no_damage"] == 1.0 and counts.damage_f1s["destroyed"] == 1.0
    assert counts.damage[3].fp == 0

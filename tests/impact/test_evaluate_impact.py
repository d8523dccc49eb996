import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from geovision.errors import ConfigError
from geovision.evaluate.grid import (
    FN,
    FP,
    TN,
    TP,
    UNDEFINED,
    best_theta,
    cell_outcomes,
    grid_f1,
    pr_curve,
    save_pr_curve,
)
from geovision.impact.evaluate_impact import evaluate_dii, truth_from_mask, truth_from_polygons

from .conftest import blocks_mask


def test_truth_from_polygons_and_mask():
    transform = Affine(1, 0, 0, 0, -1, 40)
    area = gpd.GeoDataFrame(geometry=[shapely.box(0, 20, 15, 40)], crs="EPSG:32615")  # top-left 15 x 20 m
    truth = truth_from_polygons(area, transform=transform, raster_shape=(40, 40), cell_px=10, crs="EPSG:32615")
    expected = np.zeros((4, 4))
    expected[0:2, 0] = 1
    expected[0:2, 1] = 1  # exactly half inside counts (min_overlap 0.5)
    np.testing.assert_array_equal(truth, expected)
    mask = np.zeros((40, 40), bool)
    mask[0:20, 0:15] = True
    np.testing.assert_array_equal(truth_from_mask(mask, cell_px=10), expected)
    strict = truth_from_polygons(area, transform=transform, raster_shape=(40, 40), cell_px=10, min_overlap=0.9)
    assert strict.sum() == 2
    with pytest.raises(ConfigError):
        truth_from_mask(mask, cell_px=10, min_overlap=0)


def test_outcomes_scores_and_curve():
    pred = np.array([[1, 0, np.nan], [1, 0, 1]])
    true = np.array([[1, 1, 1], [0, 0, np.nan]])
    np.testing.assert_array_equal(cell_outcomes(pred, true), [[TP, FN, UNDEFINED], [FP, TN, UNDEFINED]])
    scores = grid_f1(pred, true)
    assert (scores["tp"], scores["fp"], scores["fn"], scores["tn"]) == (1, 1, 1, 1)
    rng = np.random.default_rng(0)
    dii = rng.random((20, 20))
    dii[rng.random((20, 20)) < 0.1] = np.nan
    truth = (dii + rng.normal(0, 0.2, dii.shape) > 0.5).astype(float)
    curve = pr_curve(dii, truth)
    for _, row in curve.sample(5, random_state=0).iterrows():  # exact against brute force
        ok = np.isfinite(dii)
        p, t = dii[ok] >= row["theta"], truth[ok] > 0
        assert row["tp"] == np.sum(p & t) and row["fp"] == np.sum(p & ~t) and row["fn"] == np.sum(~p & t)
    best = best_theta(curve)
    assert best["f1"] == curve["f1"].max() and 0.3 < best["theta"] < 0.7
    assert curve["recall"].iloc[0] == 1.0 and curve["tp"].iloc[-1] == 0


def test_save_pr_curve(tmp_path):
    curve = pr_curve(np.array([0.1, 0.5, 0.9, np.nan]), np.array([0.0, 1.0, 1.0, 1.0]))
    save_pr_curve(curve, tmp_path / "pr.csv", tmp_path / "pr.png")
    back = pd.read_csv(tmp_path / "pr.csv")
    assert list(back.columns[:7]) == ["theta", "tp", "fp", "fn", "tn", "precision", "recall"]
    assert (tmp_path / "pr.png").read_bytes()[:4] == b"\x89PNG"
    assert best_theta(back)["theta"] == pytest.approx(0.5)


def test_evaluate_dii_perfect_and_degraded(rng):
    pre = blocks_mask((256, 256), rng, n=120, size=8)
    post = pre.copy()
    post[:128, :128] = 0
    perfect = evaluate_dii(pre, post, pre, post, cell_px=64, theta=0.1)
    assert perfect["scores"]["f1"] == 1.0
    noisy_post = np.where(rng.random(post.shape) < 0.02, 1 - post, post)
    degraded = evaluate_dii(
        pre.astype(np.float32) * 0.8,
        noisy_post.astype(np.float32),
        pre,
        post,
        cell_px=64,
        theta=0.1,
        tau=0.5,
        tolerance_px=1,
    )
    assert 0 <= degraded["scores"]["f1"] <= 1 and len(degraded["curve"]) > 1

"""Weak-label loss (shift search, edge band, negative weight, bootstrapping, small-loss sampling) and label noise."""

from __future__ import annotations

import geopandas as gpd
import pytest
import torch
from click.testing import CliRunner
from shapely.geometry import box

from geovision.cli.main import cli
from geovision.pretrain.config import WeakLabelConfig
from geovision.pretrain.weak import WeakLabelLoss, corrupt_footprints, edge_band, gaps, shift2d

from .conftest import write_yaml


def _batch(mask: torch.Tensor) -> dict:
    n = mask.shape[0]
    return {
        "valid": torch.ones_like(mask, dtype=torch.bool),
        "mask_buildings": mask,
        "labelled": {"buildings": torch.ones(n, dtype=torch.bool)},
    }


def _square(n: int = 2, at: int = 8) -> torch.Tensor:
    mask = torch.zeros(n, 32, 32)
    mask[:, at : at + 12, at : at + 12] = 1
    return mask


def _loss(mask_pred: torch.Tensor, batch: dict, **options) -> float:
    logits = {"buildings": ((mask_pred * 2 - 1) * 6)[:, None]}
    loss, _ = WeakLabelLoss(("buildings",), options=WeakLabelConfig(**options))(logits, batch)
    return float(loss)


def test_shift_search_forgives_misregistered_labels():
    truth, label = _square(), shift2d(_square(), 3, -2)
    assert torch.equal(shift2d(label, -3, 2), truth)
    plain, tolerant = _loss(truth, _batch(label)), _loss(truth, _batch(label), max_shift_px=3)
    exact = _loss(truth, _batch(truth))
    assert tolerant == pytest.approx(exact, abs=1e-4) and plain > 5 * exact
    assert _loss(truth, _batch(label), max_shift_px=1) > 2 * exact  # 3 px is beyond a 1 px search


def test_edge_band_negative_weight_bootstrap_and_dropping():
    truth = _square(1)
    band = edge_band(truth, 1)
    assert band[0, 8, 8] == 1 and band[0, 14, 14] == 0 and band[0, 0, 0] == 0
    dilated = torch.nn.functional.max_pool2d(truth[:, None], 3, 1, 1)[:, 0]  # footprint drawn 1 px too big
    assert _loss(truth, _batch(dilated), ignore_edge_px=1) < 0.2 * _loss(truth, _batch(dilated))
    two = truth.clone()
    two[:, 24:30, 24:30] = 1  # the model sees two buildings, the map has only the first
    assert _loss(two, _batch(truth), negative_weight=0.1) < 0.5 * _loss(two, _batch(truth))
    assert _loss(two, _batch(truth), bootstrap_beta=0.5) < 0.8 * _loss(two, _batch(truth))
    labels = torch.cat([truth, truth, truth, torch.zeros(1, 32, 32)])  # one sample with a wrong label
    pred = torch.cat([truth] * 4)
    kept = _loss(pred, _batch(labels), drop_highest=0.25)
    assert kept == pytest.approx(_loss(pred[:3], _batch(labels[:3])), rel=1e-5)
    assert kept < _loss(pred, _batch(labels))


def test_gaps_between_footprints_weigh_more_and_are_never_ignored():
    two = torch.zeros(1, 32, 32)
    two[:, 8:20, 4:14] = 1
    two[:, 8:20, 17:27] = 1  # a 3 px gap between two buildings
    gap = gaps(two, 2)
    assert gap[0, 12, 14:17].eq(1).all() and gap[0, 12, 2].eq(0) and gap[0, 0, 0].eq(0)
    assert gap[two > 0].eq(0).all() and gap.sum() == 3 * 12  # only the gap's background
    assert gaps(two, 1).sum() == 0  # a closing of radius 1 bridges 2 px, not 3
    merged = two.clone()
    merged[:, 8:20, 14:17] = 1  # the model joins the two buildings
    plain = _loss(merged, _batch(two), ignore_edge_px=1)  # the edge band hides 2 of the gap's 3 columns
    weighted = _loss(merged, _batch(two), ignore_edge_px=1, gap_px=2, gap_weight=3.0)
    assert weighted > 2 * plain
    assert _loss(two, _batch(two), gap_px=2, gap_weight=3.0) == pytest.approx(_loss(two, _batch(two)), abs=1e-3)


def test_unlabelled_samples_add_nothing():
    batch = _batch(_square())
    batch["labelled"]["buildings"] = torch.tensor([True, False])
    logits = {"buildings": torch.zeros(2, 1, 32, 32, requires_grad=True)}
    loss, _ = WeakLabelLoss(("buildings",), options=WeakLabelConfig(drop_highest=0.5))(logits, batch)
    loss.backward()
    assert logits["buildings"].grad[1].abs().sum() == 0 and logits["buildings"].grad[0].abs().sum() > 0


def test_corrupt_footprints_shifts_drops_and_adds():
    frame = gpd.GeoDataFrame(
        {"id": range(100)}, geometry=[box(x * 10, 0, x * 10 + 5, 5) for x in range(100)], crs="EPSG:32615"
    )
    shifted = corrupt_footprints(frame, shift=(2.0, -1.0))
    assert shifted.geometry.iloc[0].bounds == (2.0, -1.0, 7.0, 4.0) and shifted.crs == frame.crs
    noisy = corrupt_footprints(frame, drop=0.3, extra=0.2, jitter=0.5, seed=1)
    assert 60 < len(noisy) - 20 < 80
    assert corrupt_footprints(frame, drop=0.3, seed=1).equals(corrupt_footprints(frame, drop=0.3, seed=1))


def test_pretrain_weak_command(train_raw, tmp_path):
    raw = train_raw("weak", weak_labels={"max_shift_px": 2, "ignore_edge_px": 1, "drop_highest": 0.5})
    result = CliRunner().invoke(
        cli, ["pretrain", "weak", str(write_yaml(tmp_path / "weak.yaml", raw))], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "trained 2 steps" in result.output and "buildings/iou" in result.output
    from geovision.models.bundle import load_bundle

    assert load_bundle(tmp_path / "weak" / "model").meta.training.config["weak_labels"]["max_shift_px"] == 2
    raw["weak_labels"] = {"drop_highest": 1.5}
    bad = CliRunner().invoke(cli, ["pretrain", "weak", str(write_yaml(tmp_path / "bad.yaml", raw))])
    assert bad.exit_code == 2 and "weak_labels.drop_highest" in bad.output

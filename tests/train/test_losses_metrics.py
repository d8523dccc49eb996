"""Masked multi-task loss and validation metrics."""

from __future__ import annotations

import pytest
import torch

from geovision.train.losses import MultiTaskLoss, masked_bce, masked_dice
from geovision.train.metrics import PixelMetrics


def _batch(labelled_roads=(True, True)) -> dict:
    generator = torch.Generator().manual_seed(0)
    valid = torch.ones(2, 8, 8, dtype=torch.bool)
    valid[:, :, :2] = False
    return {
        "valid": valid,
        "mask_buildings": (torch.rand(2, 8, 8, generator=generator) > 0.5).float(),
        "mask_roads": (torch.rand(2, 8, 8, generator=generator) > 0.8).float(),
        "labelled": {"buildings": torch.tensor([True, False]), "roads": torch.tensor(labelled_roads)},
    }


def _logits(batch: dict, scale: float = 5.0) -> dict:
    return {
        t: ((batch[f"mask_{t}"] * 2 - 1) * scale)[:, None].clone().requires_grad_(True) for t in ("buildings", "roads")
    }


def test_invalid_and_unlabelled_pixels_do_not_count():
    batch = _batch()
    loss_fn = MultiTaskLoss(("buildings", "roads"))
    logits = _logits(batch)
    base, parts = loss_fn(logits, batch)
    changed = {t: v.detach().clone() for t, v in logits.items()}
    changed["buildings"][:, :, :, :2] = -50.0  # invalid columns
    changed["buildings"][1] = 50.0  # sample 1 has no building labels
    assert float(loss_fn(changed, batch)[0]) == pytest.approx(float(base.detach()))
    assert set(parts) == {"buildings/bce", "buildings/dice", "roads/bce", "roads/dice", "loss"}


def test_gradients_only_from_labelled_tasks():
    batch = _batch(labelled_roads=(False, False))
    logits = _logits(batch, scale=0.0)
    loss, parts = MultiTaskLoss(("buildings", "roads"))(logits, batch)
    loss.backward()
    assert "roads/bce" not in parts
    assert logits["roads"].grad.abs().sum() == 0
    assert logits["buildings"].grad[0].abs().sum() > 0 and logits["buildings"].grad[1].abs().sum() == 0


def test_good_predictions_lose_less_and_weights_apply():
    batch = _batch()
    loss_fn = MultiTaskLoss(("buildings", "roads"))
    with torch.no_grad():
        good = float(loss_fn(_logits(batch, 8.0), batch)[0])
        bad = float(loss_fn(_logits(batch, -8.0), batch)[0])
    assert good < 0.05 < 3.0 < bad
    only_roads = MultiTaskLoss(("buildings", "roads"), task_weights={"buildings": 0.0}, dice_weight=0.0)
    _, parts = only_roads(_logits(batch, -8.0), batch)
    assert parts["loss"] == pytest.approx(parts["roads/bce"])


def test_bce_dice_components():
    target = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    weight = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    logits = torch.zeros(2, 2)
    assert float(masked_bce(logits, target, weight)) == pytest.approx(0.6931, abs=1e-4)
    assert float(masked_bce(logits, target, weight, pos_weight=3.0)) == pytest.approx(2 * 0.6931, abs=1e-4)
    # probs 0.5, 0.5 on the two weighted pixels, one positive: dice = 1 - (2*0.5+1)/(1+1+1)
    assert float(masked_dice(logits, target, weight)) == pytest.approx(1 - 2 / 3)


def test_pixel_metrics_use_valid_labelled_pixels_only():
    batch = _batch()
    logits = _logits(batch)
    logits["roads"] = logits["roads"].detach().clone()
    logits["roads"][0, 0, :, 2:] = 10.0  # sample 0: all valid pixels predicted road
    metrics = PixelMetrics(("buildings", "roads"))
    metrics.update(logits, batch)
    out = metrics.compute()
    assert out["buildings/iou"] == 1.0 and out["buildings/f1"] == 1.0
    truth = batch["mask_roads"][:, :, 2:]
    assert out["roads/recall"] == 1.0
    assert out["roads/iou"] == pytest.approx(float(truth.sum()) / float(truth[1].sum() + 48))
    assert out["mean_iou"] == pytest.approx((1.0 + out["roads/iou"]) / 2)
    empty = PixelMetrics(("buildings",))
    assert empty.compute() == {}

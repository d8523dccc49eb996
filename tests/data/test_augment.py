"""Augmentations keep image, masks and valid mask aligned."""

from __future__ import annotations

import numpy as np
import torch

from geovision.data.augment import Augment


def _sample() -> dict:
    generator = torch.Generator().manual_seed(0)
    mask = (torch.rand(24, 24, generator=generator) > 0.7).float()
    image = torch.stack([mask * 2 - 1, mask, -mask])  # the image encodes the mask
    valid = torch.ones(24, 24, dtype=torch.bool)
    valid[:, :3] = False
    image[:, ~valid] = 0
    return {
        "image": image,
        "mask_buildings": mask,
        "valid": valid,
        "labelled": {"buildings": torch.tensor(True)},
        "scene": "s",
    }


def test_geometric_augmentations_move_everything_together():
    seen = set()
    for seed in range(16):
        out = Augment(flips=True, rot90=True)(_sample(), np.random.default_rng(seed))
        torch.testing.assert_close(out["image"][1], out["mask_buildings"] * out["valid"])
        assert int(out["valid"].sum()) == 24 * 21
        seen.add(tuple(out["valid"][:, 0].tolist() + out["valid"][0].tolist()))
        assert out["scene"] == "s" and bool(out["labelled"]["buildings"])
    assert len(seen) == 4  # the invalid strip ended up on all four sides


def test_colour_jitter_changes_only_valid_image_pixels():
    sample = _sample()
    out = Augment(flips=False, rot90=False, brightness=0.2, contrast=0.2)(sample, np.random.default_rng(1))
    assert torch.equal(out["mask_buildings"], sample["mask_buildings"])
    assert not torch.equal(out["image"], sample["image"])
    assert (out["image"][:, ~out["valid"]] == 0).all()
    assert sample["image"][:, 5, 5].tolist() != out["image"][:, 5, 5].tolist()


def test_scale_factor_is_within_range_and_spread():
    augment = Augment(scale=(0.5, 2.0))
    factors = np.array([augment.scale_factor(np.random.default_rng(i)) for i in range(400)])
    assert factors.min() >= 0.5 and factors.max() <= 2.0
    assert 0.4 < (factors < 1).mean() < 0.6  # log-uniform: as many zoom-outs as zoom-ins
    assert Augment().scale_factor(np.random.default_rng(0)) == 1.0

"""Sensor-robust augmentation: each imitation does what it says, keeps labels aligned, and is seeded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geovision.data.sensor import SensorAugment, coarsen, engine_stretch, grey, jpeg, shear
from geovision.inference.sources import SourceSpec
from geovision.io.raster import open_raster
from geovision.types import PixelWindow
from tests.rasters import write_geotiff


def _chip(seed: int = 0, size: int = 64) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    rng = np.random.default_rng(seed)
    image = torch.from_numpy(rng.uniform(20, 230, (3, size, size)).astype(np.float32))
    mask = torch.zeros(size, size)
    mask[16:40, 20:44] = 1
    image[:, 16:40, 20:44] = 250.0  # a bright "building" on the mask
    return image, torch.ones(size, size, dtype=torch.bool), {"buildings": mask}


def test_every_imitation_off_by_default_changes_nothing():
    image, valid, masks = _chip()
    augment = SensorAugment()
    assert not augment.active
    out, out_valid, out_masks = augment(image, valid, masks, np.random.default_rng(0))
    assert (
        torch.equal(out, image)
        and torch.equal(out_valid, valid)
        and torch.equal(out_masks["buildings"], masks["buildings"])
    )


def test_the_same_seed_gives_the_same_chip_and_another_seed_another():
    image, valid, masks = _chip()
    augment = SensorAugment(
        shear_p=1, resolution_p=1, colour_p=1, stretch_p=0.5, haze_p=0.5, blur_p=0.5, noise_p=1, jpeg_p=0.5
    )
    a = augment(image, valid, masks, np.random.default_rng((3, 7)))
    b = augment(image, valid, masks, np.random.default_rng((3, 7)))
    c = augment(image, valid, masks, np.random.default_rng((3, 8)))
    assert torch.equal(a[0], b[0]) and torch.equal(a[2]["buildings"], b[2]["buildings"])
    assert not torch.equal(a[0], c[0])
    assert float(a[0].min()) >= 0 and float(a[0].max()) <= 255


def test_shear_moves_image_and_masks_together():
    image, valid, masks = _chip()
    out = shear({"image": image, "valid": valid, **masks}, 0.15, 0.0)
    moved = out["buildings"] > 0
    assert moved.sum() > 0 and not torch.equal(moved, masks["buildings"] > 0)
    assert float(out["image"][0][moved].mean()) > 200  # the bright roof is still under its label
    assert out["valid"].dtype == torch.bool and not bool(out["valid"].all())  # corners sheared out are invalid


def test_grey_is_luminance_in_every_band():
    image, _, _ = _chip()
    out = grey(image)
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2])
    expected = 0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]
    assert torch.allclose(out[0], expected)


def test_coarsen_removes_detail_a_coarser_sensor_cannot_see():
    stripes = torch.zeros(3, 64, 64)
    stripes[:, :, ::2] = 255.0  # 1-pixel stripes: gone at twice the GSD
    out = coarsen(stripes, 2.0)
    assert out.shape == stripes.shape
    assert float(out.std()) < 0.1 * float(stripes.std())


def test_high_bit_depth_goes_through_the_engines_own_stretch(tmp_path):
    """The augmentation's 16-bit path ends exactly where the engine's read of such a file does."""
    rng = np.random.default_rng(1)
    counts = rng.integers(100, 2000, (3, 32, 32)).astype(np.uint16)
    path = write_geotiff(tmp_path / "u16.tif", counts)
    with open_raster(path, scaling=SourceSpec(pre=str(path)).input_scaling) as raster:  # the engine's scaling
        engine, _ = raster.read(PixelWindow(0, 0, 32, 32))
    ours = engine_stretch(counts.astype(np.float32), np.ones((32, 32), bool))
    assert float(engine.max()) == pytest.approx(255.0) and float(engine.min()) == 0.0
    np.testing.assert_allclose(ours, engine, atol=1e-3)


def test_jpeg_round_trip_is_lossy_but_close():
    ramp = torch.linspace(0, 255, 64)
    image = torch.stack([ramp[None, :].expand(64, 64), ramp[:, None].expand(64, 64), torch.full((64, 64), 90.0)])
    image = image.clone()
    image[:, 20:30, 20:30] = 250.0  # an edge for the 8x8 blocks to smear
    out = jpeg(image, 40)
    assert out.shape == image.shape
    difference = float((out - image).abs().mean())
    assert 0 < difference < 8


@pytest.mark.parametrize("field", ["shear_p", "grey_p", "jpeg_p"])
def test_probabilities_are_validated(field):
    with pytest.raises(ValueError):
        SensorAugment(**{field: 1.5})

"""Two-view augmentations and the unlabelled two-view sample stream."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geovision.data.samples import ChipReader
from geovision.errors import AlignmentError, ConfigError, MissingFileError
from geovision.pretrain.config import UnlabelledSource
from geovision.pretrain.data import TwoViewWindows, unlabelled_scenes
from geovision.pretrain.views import ViewAugment

IDENTITY = ViewAugment(
    crop_scale=(1.0, 1.0), flips=False, rot90=False, brightness=0, contrast=0, saturation=0, blur_prob=0, noise_std=0
)


def _reader(chip_px: int = 64) -> ChipReader:
    return ChipReader(tasks=(), chip_px=chip_px, gsd_m=0.5, mean=(127.5,) * 3, std=(127.5,) * 3)


def test_views_are_seeded_different_and_keep_nodata_zero():
    image = torch.randn(3, 32, 32)
    valid = torch.ones(32, 32, dtype=torch.bool)
    valid[:, :8] = False
    image = image * valid
    augment = ViewAugment()
    a1, v1 = augment(image, valid, np.random.default_rng(1))
    a2, _ = augment(image, valid, np.random.default_rng(1))
    b, _ = augment(image, valid, np.random.default_rng(2))
    assert a1.shape == (3, 32, 32) and v1.shape == (32, 32) and v1.dtype == torch.bool
    assert torch.equal(a1, a2) and not torch.equal(a1, b)
    assert float(a1[:, ~v1].abs().sum()) == 0.0
    same, same_valid = IDENTITY(image, valid, np.random.default_rng(0))
    assert torch.equal(same, image) and torch.equal(same_valid, valid)


def test_crop_zooms_in():
    image = torch.zeros(1, 40, 40)
    image[:, :20] = 1.0  # left half bright
    crop = ViewAugment(
        crop_scale=(0.1, 0.1),
        flips=False,
        rot90=False,
        brightness=0,
        contrast=0,
        saturation=0,
        blur_prob=0,
        noise_std=0,
    )
    means = {
        float(crop(image, torch.ones(40, 40, dtype=torch.bool), np.random.default_rng(s))[0].mean()) for s in range(12)
    }
    assert min(means) < 0.05 and max(means) > 0.95  # a small crop sees one side only


def test_two_views_of_one_place_and_of_two_dates(event):
    sources = [UnlabelledSource(image=str(event / "pre.tif"), pair=str(event / "post.tif"))]
    scenes = unlabelled_scenes(sources, resolve=lambda p: __import__("pathlib").Path(p))
    assert scenes[0][1] is not None and scenes[0][0].gsd_m == pytest.approx(0.5)
    same = TwoViewWindows(scenes, _reader(), length=4, views=IDENTITY, seed=3, pair_prob=0.0)
    paired = TwoViewWindows(scenes, _reader(), length=4, views=IDENTITY, seed=3, pair_prob=1.0)
    sample, other = same[0], paired[0]
    assert set(sample) == {"image", "valid", "image_pair", "valid_pair", "scene"}
    assert torch.equal(sample["image"], sample["image_pair"])
    assert torch.equal(sample["image"], other["image"])  # same window
    assert not torch.equal(other["image"], other["image_pair"])  # the post image there differs


def test_unlabelled_sources_errors(event, tmp_path):
    resolve = lambda p: tmp_path / p  # noqa: E731
    with pytest.raises(MissingFileError):
        unlabelled_scenes([UnlabelledSource(image="none/*.png")], resolve)
    import shutil

    shutil.copy(event / "pre.tif", tmp_path / "a.png")
    with pytest.raises(ConfigError, match="gsd_m"):
        unlabelled_scenes([UnlabelledSource(image="a.png")], resolve)
    import rasterio

    with rasterio.open(event / "pre.tif") as src:
        profile = {**src.profile, "width": 100, "height": 100}
        with rasterio.open(tmp_path / "small.tif", "w", **profile) as dst:
            dst.write(src.read(window=((0, 100), (0, 100))))
    with pytest.raises(AlignmentError):
        unlabelled_scenes([UnlabelledSource(image=str(event / "pre.tif"), pair="small.tif")], resolve)

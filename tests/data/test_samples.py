"""Chip datasets: resampling to the model GSD, normalisation, labelled flags, determinism, collation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from geovision.data.augment import Augment
from geovision.data.samples import ChipReader, GridWindows, RandomWindows
from geovision.data.scenes import geotiff_scene
from geovision.errors import BandCountError, ConfigError
from geovision.types import PixelWindow
from tests.rasters import write_geotiff

MEAN, STD = (100.0, 100.0, 100.0), (50.0, 50.0, 50.0)


def _reader(tasks=("buildings", "roads"), chip_px=32, gsd_m=0.5, mean=MEAN, std=STD) -> ChipReader:
    return ChipReader(tasks=tasks, chip_px=chip_px, gsd_m=gsd_m, mean=mean, std=std)


def test_chip_is_normalised_and_flags_labelled_tasks(toy_scene):
    scene = geotiff_scene(toy_scene["image"], {"buildings": toy_scene["buildings"]})
    sample = _reader(tasks=("buildings", "roads", "water"))(scene, PixelWindow(30, 10, 32, 32))
    raw = toy_scene["image_array"][:, 10:42, 30:62].astype(np.float32)
    torch.testing.assert_close(sample["image"], torch.from_numpy((raw - 100) / 50))
    assert sample["valid"].dtype == torch.bool and sample["valid"].all()
    assert sample["mask_buildings"].dtype == torch.float32
    assert sample["mask_buildings"][:10, :20].all() and sample["mask_buildings"].sum() == 200
    assert {k: bool(v) for k, v in sample["labelled"].items()} == {"buildings": True, "roads": False, "water": False}
    assert not sample["mask_roads"].any() and sample["scene"] == "image"


def test_invalid_pixels_are_zero_after_normalisation(toy_scene):
    scene = geotiff_scene(toy_scene["image"], {"buildings": toy_scene["buildings"]})
    sample = _reader()(scene, PixelWindow(80, 64, 32, 32))  # mostly outside the 96x80 scene
    assert not sample["valid"][20:, :].any()
    assert (sample["image"][:, ~sample["valid"]] == 0).all()


def test_finer_scene_is_resampled_to_the_model_gsd(toy_scene):
    scene = geotiff_scene(toy_scene["image"], {"buildings": toy_scene["buildings"]}, gsd_m=0.25)
    reader = _reader(chip_px=24, gsd_m=0.5)
    assert reader.read_px(scene) == 48 and reader.read_px(scene, 1.5) == 72
    sample = reader(scene, PixelWindow(20, 0, 48, 48))
    assert sample["image"].shape == (3, 24, 24)
    # the 20x10 px building (200 px at 0.25 m) covers 10x5 px = 50 px at 0.5 m
    assert sample["mask_buildings"].sum() == pytest.approx(50, abs=8)


def test_random_windows_are_deterministic_by_seed_and_index(toy_scene):
    scene = geotiff_scene(toy_scene["image"], {"buildings": toy_scene["buildings"], "roads": toy_scene["roads"]})
    augment = Augment(scale=(0.8, 1.25), brightness=0.1, contrast=0.1)
    data = RandomWindows([scene], _reader(), length=6, seed=3, augment=augment)
    again = RandomWindows([scene], _reader(), length=6, seed=3, augment=augment)
    other = RandomWindows([scene], _reader(), length=6, seed=4, augment=augment)
    assert len(data) == 6
    torch.testing.assert_close(data[2]["image"], again[2]["image"])
    assert not torch.equal(data[2]["image"], data[3]["image"])
    assert not torch.equal(data[2]["image"], other[2]["image"])


def test_scene_weights_and_min_valid(toy_scene, tmp_path):
    scene = geotiff_scene(toy_scene["image"], {"buildings": toy_scene["buildings"]}, name="a")
    heavy = geotiff_scene(toy_scene["image"], {"roads": toy_scene["roads"]}, name="b", weight=9.0)
    data = RandomWindows([scene, heavy], _reader(), length=200, seed=0)
    names = [data[i]["scene"] for i in range(200)]
    assert 0.8 < names.count("b") / 200 < 0.97
    # a scene that is mostly nodata: windows are redrawn until valid enough
    image = toy_scene["image_array"].copy()
    image[:, :, :70] = 0
    holes = write_geotiff(tmp_path / "holes.tif", image, nodata=0)
    sparse = geotiff_scene(holes, {"roads": toy_scene["roads"]})
    fractions = [
        float(RandomWindows([sparse], _reader(), length=20, seed=1, min_valid=0.5, tries=20)[i]["valid"].float().mean())
        for i in range(20)
    ]
    assert min(fractions) >= 0.5


def test_grid_windows_cover_every_scene(toy_scene):
    scene = geotiff_scene(toy_scene["image"], {"roads": toy_scene["roads"]})
    grid = GridWindows([scene, scene], _reader(chip_px=32))
    assert len(grid) == 2 * 3 * 3  # ceil(96/32) x ceil(80/32) per scene
    covered = sum(float(grid[i]["valid"].sum()) for i in range(9))
    assert covered == 96 * 80


def test_batches_collate_with_labelled_flags(toy_scene):
    a = geotiff_scene(toy_scene["image"], {"buildings": toy_scene["buildings"]}, name="a")
    b = geotiff_scene(toy_scene["image"], {"roads": toy_scene["roads"]}, name="b")
    batch = next(iter(DataLoader(GridWindows([a, b], _reader()), batch_size=18)))
    assert batch["image"].shape == (18, 3, 32, 32) and batch["valid"].shape == (18, 32, 32)
    assert batch["labelled"]["buildings"].dtype == torch.bool
    assert batch["labelled"]["buildings"].tolist() == [True] * 9 + [False] * 9
    assert batch["labelled"]["roads"].tolist() == [False] * 9 + [True] * 9


def test_configuration_errors(toy_scene):
    scene = geotiff_scene(toy_scene["image"], {"roads": toy_scene["roads"]})
    with pytest.raises(BandCountError, match="3 bands"):
        RandomWindows([scene], _reader(mean=(0.0,) * 4, std=(1.0,) * 4), length=1)
    with pytest.raises(ConfigError):
        RandomWindows([], _reader(), length=1)
    with pytest.raises(ConfigError):
        _reader(mean=(0.0,), std=(1.0, 1.0))


def test_training_chips_are_normalised_exactly_as_the_inference_engine_does(toy_scene):
    """One normalisation at training and at inference (the bundle's mean/std, 0 where invalid)."""
    import numpy as np

    from geovision.data.samples import ChipReader
    from geovision.data.scenes import geotiff_scene
    from geovision.inference.predictor import normalise
    from geovision.types import PixelWindow

    scene = geotiff_scene(toy_scene["image"], {"buildings": toy_scene["buildings"]})
    mean, std = (120.0, 110.0, 100.0), (60.0, 50.0, 40.0)
    reader = ChipReader(tasks=("buildings",), chip_px=48, gsd_m=scene.gsd_m, mean=mean, std=std)
    window = PixelWindow(-8, 10, 48, 48)  # partly outside: invalid pixels too
    image, valid, masks = reader.read_raw(scene, window)
    sample = reader.sample(scene, image, valid, masks)
    engine = normalise(image.numpy(), mean, std, valid.numpy().astype(bool))
    np.testing.assert_array_equal(sample["image"].numpy(), engine)
    assert not valid.all() and (sample["image"][:, ~valid] == 0).all()

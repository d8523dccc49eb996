"""In-memory scene packs read exactly what the file-backed scenes read, and round-trip through .npz."""

from __future__ import annotations

import numpy as np

from geovision.data.pack import load_pack, pack_scene, save_pack
from geovision.data.scenes import geotiff_scene
from geovision.types import PixelWindow

WINDOWS = [
    PixelWindow(0, 0, 32, 32),
    PixelWindow(70, 60, 40, 40),
    PixelWindow(-10, -5, 30, 30),
    PixelWindow(200, 200, 16, 16),
]


def test_packed_scene_reads_like_the_file_scene(toy_scene):
    scene = geotiff_scene(toy_scene["image"], {"buildings": toy_scene["buildings"], "roads": toy_scene["roads"]})
    packed = pack_scene(scene)
    assert packed.image_data.dtype == np.uint8 and (packed.width, packed.height) == (scene.width, scene.height)
    for window in WINDOWS:
        image, valid, masks = scene.read(window)
        p_image, p_valid, p_masks = packed.read(window)
        np.testing.assert_array_equal(p_image, image)
        np.testing.assert_array_equal(p_valid, valid)
        for task in masks:
            np.testing.assert_array_equal(p_masks[task], masks[task])


def test_pack_round_trips_through_npz_without_pickles(toy_scene, tmp_path):
    scene = pack_scene(geotiff_scene(toy_scene["image"], {"buildings": toy_scene["buildings"]}, weight=2.5))
    loaded = load_pack(save_pack(tmp_path / "pack", [scene]))
    assert len(loaded) == 1 and loaded[0].weight == 2.5 and loaded[0].gsd_m == scene.gsd_m
    np.testing.assert_array_equal(loaded[0].image_data, scene.image_data)
    np.testing.assert_array_equal(loaded[0].mask_data["buildings"], scene.mask_data["buildings"])

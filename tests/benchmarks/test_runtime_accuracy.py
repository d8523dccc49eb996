"""benchmarks/runtime_accuracy.py: the variants it compares and the mask pixels it counts as changed."""

from __future__ import annotations

import numpy as np
from rasterio.transform import from_origin

from tests.benchmarks.test_inference_throughput import ROOT, load
from tests.rasters import write_geotiff

accuracy = load(ROOT / "benchmarks" / "runtime_accuracy.py")


def test_variants_name_the_tiling_only_when_it_varies():
    assert accuracy.plan_variants(["fp32", "bf16"], [512], [64]) == [
        ("fp32", "fp32", 512, 64),
        ("bf16", "bf16", 512, 64),
    ]
    names = [v[0] for v in accuracy.plan_variants(["openvino"], [512, 768], [64, 32])]
    assert names == ["openvino@512/64", "openvino@512/32", "openvino@768/64", "openvino@768/32"]


def test_flipped_pixels_count_only_where_both_masks_are_valid(tmp_path):
    ours, theirs = np.zeros((1, 8, 8), np.uint8), np.zeros((1, 8, 8), np.uint8)
    ours[0, 0, :4] = 1  # 4 flips
    ours[0, 1, :2] = 255  # invalid in ours: not counted
    theirs[0, 1, :2] = 1
    for folder, mask in (("a", ours), ("b", theirs)):
        (tmp_path / folder).mkdir()
        for task in ("buildings", "roads"):
            write_geotiff(tmp_path / folder / f"{task}_scene_mask.tif", mask, transform=from_origin(0, 8, 1, 1))
    assert accuracy.flipped_pixels(tmp_path / "a", tmp_path / "b") == {"buildings": 4, "roads": 4}
    assert accuracy.valid_pixels(tmp_path / "a") == 62

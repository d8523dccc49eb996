from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geovision.errors import ConfigError
from geovision.io.windows import clip_window, plan_windows
from geovision.types import PixelWindow


@st.composite
def scenes(draw):
    chip_px = draw(st.integers(1, 64))
    overlap_px = draw(st.integers(0, chip_px - 1))
    return draw(st.integers(1, 120)), draw(st.integers(1, 120)), chip_px, overlap_px


@settings(max_examples=100, deadline=None)
@given(scenes())
def test_crops_tile_the_scene_exactly_once(scene):
    width, height, chip_px, overlap_px = scene
    counts = np.zeros((height, width), np.int32)
    for chip in plan_windows(width, height, chip_px=chip_px, overlap_px=overlap_px):
        read, crop, inner = chip
        assert (read.width, read.height) == (chip_px, chip_px)
        # the crop is inside the scene and inside the chip, at crop_in_chip
        assert 0 <= crop.col_off and crop.col_off + crop.width <= width
        assert 0 <= crop.row_off and crop.row_off + crop.height <= height
        assert (crop.col_off - read.col_off, crop.row_off - read.row_off) == (inner.col_off, inner.row_off)
        assert (inner.width, inner.height) == (crop.width, crop.height)
        assert inner.col_off + inner.width <= chip_px and inner.row_off + inner.height <= chip_px
        counts[crop.row_slice, crop.col_slice] += 1
    assert (counts == 1).all()


@settings(max_examples=50, deadline=None)
@given(scenes())
def test_cropping_a_padded_chip_read_gives_back_the_scene(scene):
    width, height, chip_px, overlap_px = scene
    scene_array = np.arange(width * height).reshape(height, width)
    rebuilt = np.full_like(scene_array, -1)
    for chip in plan_windows(width, height, chip_px=chip_px, overlap_px=overlap_px):
        padded = np.full((chip_px, chip_px), -2)  # a boundless read: outside the scene is padding
        clipped = clip_window(chip.read, width, height)
        inner, (rows, cols) = clipped
        padded[rows, cols] = scene_array[inner.row_slice, inner.col_slice]
        rebuilt[chip.crop.row_slice, chip.crop.col_slice] = padded[
            chip.crop_in_chip.row_slice, chip.crop_in_chip.col_slice
        ]
    np.testing.assert_array_equal(rebuilt, scene_array)


def test_overlap_puts_context_around_interior_crops():
    chips = plan_windows(1000, 1000, chip_px=256, overlap_px=64)
    middle = next(c for c in chips if c.crop.col_off > 0 and c.crop.row_off > 0)
    assert middle.crop_in_chip == PixelWindow(32, 32, 192, 192)
    assert len(chips) == 6 * 6  # ceil(1000 / 192)


def test_scene_not_multiple_of_chip_has_short_edge_crops():
    chips = plan_windows(1000, 700, chip_px=512, overlap_px=0)
    assert [c.crop for c in chips] == [
        PixelWindow(0, 0, 512, 512),
        PixelWindow(512, 0, 488, 512),
        PixelWindow(0, 512, 512, 188),
        PixelWindow(512, 512, 488, 188),
    ]
    assert all(c.read.width == 512 and c.read.height == 512 for c in chips)


@pytest.mark.parametrize(
    "kwargs", [dict(chip_px=0, overlap_px=0), dict(chip_px=64, overlap_px=64), dict(chip_px=64, overlap_px=-1)]
)
def test_bad_plans_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        plan_windows(100, 100, **kwargs)
    with pytest.raises(ConfigError):
        plan_windows(0, 100, chip_px=64)


def test_clip_window_outside_is_none():
    assert clip_window(PixelWindow(100, 0, 10, 10), 100, 100) is None
    assert clip_window(PixelWindow(-10, -10, 10, 10), 100, 100) is None
    inner, (rows, cols) = clip_window(PixelWindow(-5, 95, 10, 10), 100, 100)
    assert inner == PixelWindow(0, 95, 5, 5)
    assert (rows, cols) == (slice(0, 5), slice(5, 10))

"""Procedural noise: bounded, seeded, and independent of how the scene is cut into windows."""

from __future__ import annotations

import numpy as np
import pytest

from geovision.synth.noise import Grain, crowns, fbm, hash_uniform, value_noise

ROWS = np.arange(-40, 200, dtype=np.float64) + 0.25
COLS = np.arange(1000, 1300, dtype=np.float64) - 0.5


def test_hash_uniform_is_seeded_uniform_and_handles_negative_coordinates():
    x, y = np.meshgrid(np.arange(-100, 100), np.arange(-50, 50))
    a = hash_uniform(x, y, 3)
    assert a.min() >= 0 and a.max() < 1
    assert abs(a.mean() - 0.5) < 0.01
    assert np.array_equal(a, hash_uniform(x, y, 3))
    assert not np.array_equal(a, hash_uniform(x, y, 4))
    assert not np.array_equal(a, hash_uniform(-x, y, 3))


@pytest.mark.parametrize(
    "make",
    [
        lambda r, c: value_noise(r, c, 7.3, 5),
        lambda r, c: fbm(r, c, 40.0, 5, octaves=3),
        lambda r, c: crowns(r, c, 14.0, 5, np.full((len(r), len(c)), 0.4, np.float32))[0],
    ],
)
def test_noise_of_a_sub_window_equals_the_crop_of_a_larger_window(make):
    whole = make(ROWS, COLS)
    part = make(ROWS[37:150], COLS[101:177])
    assert np.array_equal(part, whole[37:150, 101:177])


def test_value_noise_is_smooth_at_its_cell_size_and_in_range():
    a = value_noise(ROWS, COLS, 20.0, 1)
    assert a.dtype == np.float32 and a.min() >= 0 and a.max() < 1
    neighbour = np.abs(np.diff(a, axis=1)).mean()
    far = np.abs(a[:, 40:] - a[:, :-40]).mean()
    assert neighbour < 0.2 * far


def test_crowns_cover_more_with_higher_density_and_nothing_at_zero():
    cover = []
    for density in (0.0, 0.2, 0.8):
        height, off_x, off_y = crowns(ROWS, COLS, 14.0, 2, np.full((len(ROWS), len(COLS)), density, np.float32))
        assert height.min() >= 0 and height.max() <= 1
        assert np.all(off_x[height > 0] ** 2 + off_y[height > 0] ** 2 < 1.0 + 1e-5)
        cover.append((height > 0).mean())
    assert cover[0] == 0 and 0.05 < cover[1] < cover[2]


def test_grain_is_standard_normal_like_and_window_independent():
    grain = Grain(7)
    rows, cols = np.arange(0, 600), np.arange(-300, 300)
    a = grain.sample(rows, cols)
    assert a.shape == (3, 600, 600)
    assert abs(a.mean()) < 0.02 and 0.95 < a.std() < 1.05
    assert np.array_equal(grain.sample(rows[10:20], cols[500:550]), a[:, 10:20, 500:550])
    assert not np.array_equal(a[0], a[1])

import dask.array as da
import numpy as np
import pytest
from affine import Affine

from geovision.errors import ConfigError, GeoreferenceError
from geovision.impact.grid import block_sum, cell_boxes, cell_pixel_counts, cell_px_from_m, n_cells


def test_block_sum_partial_edges_match_brute_force(rng):
    array = rng.integers(0, 5, size=(70, 45))
    out = block_sum(array, 16)
    assert out.shape == (n_cells(70, 16), n_cells(45, 16)) == (5, 3)
    for r in range(5):
        for c in range(3):
            assert out[r, c] == array[r * 16 : (r + 1) * 16, c * 16 : (c + 1) * 16].sum()


def test_block_sum_dask_equals_numpy(rng):
    array = rng.random((301, 257)) > 0.5
    lazy = block_sum(da.from_array(array, chunks=(70, 90)), 32)
    np.testing.assert_array_equal(lazy.compute(), block_sum(array, 32))


def test_block_sum_bool_does_not_overflow():
    assert block_sum(np.ones((300, 300), np.uint8) * 255, 300)[0, 0] == 255 * 300 * 300


def test_cell_pixel_counts_and_boxes():
    counts = cell_pixel_counts((10, 7), 4)
    np.testing.assert_array_equal(counts, [[16, 12], [16, 12], [8, 6]])
    boxes = cell_boxes(Affine(2, 0, 100, 0, -2, 50), (10, 7), 4)
    assert len(boxes) == 6
    assert boxes[5].bounds == (108.0, 30.0, 114.0, 34.0)
    assert sum(b.area for b in boxes) == pytest.approx(10 * 7 * 4)


def test_cell_px_from_m():
    assert cell_px_from_m(128, Affine(0.5, 0, 0, 0, -0.5, 0), "EPSG:32615") == 256
    assert cell_px_from_m(100, Affine(1 / 1200, 0, 100, 0, -1 / 1200, 0), "EPSG:4326") == pytest.approx(1, abs=1)
    with pytest.raises(ConfigError):
        cell_px_from_m(-1, Affine.identity())
    with pytest.raises(GeoreferenceError):
        cell_px_from_m(10, None)
    with pytest.raises(ConfigError):
        block_sum(np.ones((4, 4)), 0)

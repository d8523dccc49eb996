import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geovision.errors import ConfigError
from geovision.impact.dii import compute_dii_grid, flag_impacted, lost_pixels

masks = st.tuples(
    st.integers(8, 70), st.integers(8, 70), st.integers(0, 2**31 - 1), st.integers(4, 32), st.floats(0.05, 0.9)
)


def _random(shape, seed, density):
    rng = np.random.default_rng(seed)
    return rng.random(shape) < density, rng


@settings(max_examples=25, deadline=None)
@given(masks)
def test_identical_masks_give_zero_where_defined(params):
    rows, cols, seed, cell_px, density = params
    pre, _ = _random((rows, cols), seed, density)
    ds = compute_dii_grid(pre, pre.copy(), cell_px=cell_px, min_valid_fraction=0.0)
    dii = ds["dii"].to_numpy()
    defined = np.isfinite(dii)
    assert np.all(dii[defined] == 0)
    np.testing.assert_array_equal(defined, ds["f"].to_numpy() > 0)


@settings(max_examples=25, deadline=None)
@given(masks, st.integers(0, 2))
def test_counts_are_conserved(params, tolerance_px):
    rows, cols, seed, cell_px, density = params
    pre, rng = _random((rows, cols), seed, density)
    post = pre & (rng.random(pre.shape) < 0.6)
    valid = rng.random(pre.shape) < 0.9
    ds = compute_dii_grid(pre, post, valid=valid, cell_px=cell_px, tolerance_px=tolerance_px)
    before, lost, _ = lost_pixels(pre, post, valid=valid, tolerance_px=tolerance_px)
    assert int(ds["f"].sum()) == int((pre & valid).sum()) == int(before.sum())
    assert int(ds["c"].sum()) == int(lost.sum())
    assert int(ds["n_valid"].sum()) == int(valid.sum())
    assert np.all(ds["c"] <= ds["f"])
    if tolerance_px == 0:
        assert int(ds["c"].sum()) == int((pre & ~post & valid).sum())


def test_values_and_nodata():
    pre = np.zeros((8, 8), bool)
    post = np.zeros((8, 8), bool)
    pre[0:4, 0:4] = True  # cell (0,0): 16 features, 8 lost
    post[0:2, 0:4] = True
    pre[0:4, 4:8] = True  # cell (0,1): 16 features, none lost
    post[0:4, 4:8] = True
    valid = np.ones((8, 8), bool)
    valid[4:8, 4:8] = False  # cell (1,1): no valid coverage
    ds = compute_dii_grid(pre, post, valid=valid, cell_px=4)
    np.testing.assert_array_equal(ds["f"], [[16, 16], [0, 0]])
    np.testing.assert_array_equal(ds["c"], [[8, 0], [0, 0]])
    assert float(ds["mean_f"]) == pytest.approx(32 / 3)  # 3 valid cells
    assert ds["dii"][0, 0] == pytest.approx(8 / (32 / 3))
    assert ds["lost_fraction"][0, 0] == pytest.approx(0.5)
    assert np.isnan(ds["dii"][1, 0]) and np.isnan(ds["dii"][1, 1])  # no features / no coverage
    assert not bool(ds["cell_valid"][1, 1])
    with_features = compute_dii_grid(pre, post, valid=valid, cell_px=4, mean_over="with_features")
    assert float(with_features["mean_f"]) == pytest.approx(16)
    flags = flag_impacted(ds, 0.5)
    assert flags[0, 0] == 1 and flags[0, 1] == 0 and np.isnan(flags[1, 0])


def test_probabilities_nan_and_tolerance():
    pre = np.zeros((6, 6), np.float32)
    pre[2:4, 2:4] = 0.9
    post = np.zeros((6, 6), np.float32)
    post[2:4, 3:5] = 0.8  # the same building shifted by one pixel
    post[0, 0] = np.nan  # invalid pixel
    ds0 = compute_dii_grid(pre, post, cell_px=6, min_valid_fraction=0)
    assert int(ds0["c"].sum()) == 2 and int(ds0["n_valid"].sum()) == 35
    ds1 = compute_dii_grid(pre, post, cell_px=6, tolerance_px=1)
    assert int(ds1["c"].sum()) == 0
    high = compute_dii_grid(pre, post, cell_px=6, tau=0.85)  # post below tau: all lost
    assert int(high["c"].sum()) == 4


def test_dask_input_is_lazy_and_equal(rng):
    pre = rng.random((300, 260)) < 0.3
    post = pre & (rng.random(pre.shape) < 0.5)
    eager = compute_dii_grid(pre, post, cell_px=64, tolerance_px=2)
    lazy = compute_dii_grid(
        da.from_array(pre, chunks=100), da.from_array(post, chunks=(90, 130)), cell_px=64, tolerance_px=2
    )
    assert isinstance(lazy["dii"].data, da.Array)
    lazy = lazy.compute()
    for name in ("f", "c", "n_valid"):
        np.testing.assert_array_equal(lazy[name], eager[name])
    np.testing.assert_allclose(lazy["dii"], eager["dii"], equal_nan=True, rtol=1e-6)


def test_bad_input_raises():
    with pytest.raises(ConfigError):
        compute_dii_grid(np.ones((4, 4)), np.ones((4, 5)), cell_px=2)
    with pytest.raises(ConfigError):
        compute_dii_grid(np.ones((4, 4)), np.ones((4, 4)), cell_px=2, mean_over="median")
    with pytest.raises(ConfigError):
        compute_dii_grid(np.ones((4, 4)), np.ones((4, 4)), cell_px=2, tolerance_px=-1)


def test_invalid_post_pixels_do_not_count_as_features_within_tolerance():
    pre = np.zeros((4, 8), np.uint8)
    pre[:, 2:4] = 1
    post = np.zeros((4, 8), np.uint8)
    post[:, 4] = 255  # nodata in the post mask, next to the building
    valid = post != 255
    ds = compute_dii_grid(pre, post, valid=valid, cell_px=8, tolerance_px=1, min_valid_fraction=0)
    assert int(ds["c"].sum()) == 8  # the building is gone; the nodata column does not save it

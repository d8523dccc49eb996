"""Model intervals of persons in impacted cells (simulated DII per draw)."""

import itertools
import logging

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy import ndimage

import geovision.impact.stats as stats
from geovision.impact.affected import affected_population
from geovision.impact.dii import compute_dii_grid, flag_impacted
from geovision.impact.grid import block_sum
from geovision.impact.population import PolygonZones, allocate
from geovision.impact.sources import ArraySource
from geovision.impact.stats import bernoulli_percentile

from .conftest import TRANSFORM, UTM

CELL = 32
# (row, col, height, width): 10 separate buildings on 2 x 3 cells of 32 px, two across cell edges
BUILDINGS = [
    (2, 2, 10, 12),
    (18, 4, 8, 8),
    (4, 28, 6, 6),
    (40, 6, 12, 10),
    (50, 20, 8, 8),
    (6, 36, 14, 14),
    (40, 40, 10, 12),
    (10, 70, 12, 8),
    (44, 66, 8, 10),
    (28, 56, 8, 12),
]


def _scene(post_prob: list[float], *, theta: float, left_only: bool = False):
    pre = np.zeros((64, 96), np.float32)
    post = np.zeros_like(pre)
    for (r, c, h, w), p in zip(BUILDINGS, post_prob, strict=True):
        pre[r : r + h, c : c + w] = 1
        post[r : r + h, c : c + w] = p
    units = gpd.GeoDataFrame(
        {"pop": [500.0, 700.0]},
        crs=UTM,
        geometry=[
            shapely.box(TRANSFORM.c, TRANSFORM.f - 32, TRANSFORM.c + 20, TRANSFORM.f),  # left 40 px
            shapely.box(TRANSFORM.c + 20, TRANSFORM.f - 32, TRANSFORM.c + 48, TRANSFORM.f),
        ],
    )
    if left_only:  # buildings right of x = 40 px get no persons
        units = units.iloc[:1]
    src_pre = ArraySource(pre, TRANSFORM, UTM)
    allocation = allocate(PolygonZones(units, crs=UTM), src_pre)
    ds = compute_dii_grid(pre, post, cell_px=CELL, transform=TRANSFORM, crs=UTM)
    ds["impacted"] = flag_impacted(ds, theta)
    ds.attrs["theta"] = theta
    return pre, post, src_pre, allocation, ds


def _run(post_prob, *, theta, window_px=2048, n_boot=2000, left_only=False, **kwargs):
    pre, post, src_pre, allocation, ds = _scene(post_prob, theta=theta, left_only=left_only)
    result = affected_population(
        src_pre,
        ArraySource(post, TRANSFORM, UTM),
        allocation,
        ds,
        uncertainty="model",
        n_boot=n_boot,
        window_px=window_px,
        **kwargs,
    )
    return pre, ds, result


def _zone_sums_match(result):
    assert result.units["persons_impacted_expected"].sum() == pytest.approx(
        result.totals["persons_impacted_expected"], rel=1e-9
    )
    assert float(result.cells["persons_impacted_expected"].sum()) == pytest.approx(
        result.totals["persons_impacted_expected"], rel=1e-9
    )


@pytest.mark.parametrize("window_px", [CELL, 2048])
def test_degenerate_when_losses_are_certain(window_px):
    post_prob = [1, 0, 0, 1, 1, 1, 1, 0, 1, 0]  # buildings 1, 2, 7, 9 lost for sure (2 and 9 across cells)
    _, ds, result = _run(post_prob, theta=0.5, window_px=window_px)
    t = result.totals
    assert 0 < t["persons_impacted"] < t["persons"]  # some cells impacted, not all
    assert t["persons_impacted_low"] == t["persons_impacted_high"] == pytest.approx(t["persons_impacted"])
    assert t["persons_impacted_expected"] == pytest.approx(t["persons_impacted"])
    cells = result.cells
    for name in ("expected", "low", "high"):
        np.testing.assert_allclose(cells[f"persons_impacted_{name}"], cells["persons_impacted"])
        np.testing.assert_allclose(result.units[f"persons_impacted_{name}"], result.units["persons_impacted"])
    assert t["persons_lost_low"] == t["persons_lost_high"] == pytest.approx(t["persons_lost"])  # unchanged
    _zone_sums_match(result)


def test_buildings_without_persons_still_count_in_the_dii():
    # building 9 has no persons but its lost pixels make cell (0, 1), where building 5 has persons, impacted
    _, ds, result = _run([1, 1, 1, 1, 1, 1, 1, 1, 1, 0], theta=0.15, left_only=True)
    t = result.totals
    assert float(ds["impacted"][0, 1]) == 1 and float(result.cells["persons"][0, 1]) > 0
    assert t["persons_impacted_low"] == t["persons_impacted_high"] == pytest.approx(t["persons_impacted"])
    assert t["persons_impacted"] == pytest.approx(float(result.cells["persons"][0, 1]))
    _zone_sums_match(result)


def _brute_force(pre, ds, persons_cell, theta):
    """Expected persons in impacted cells over all 2**10 equally likely loss outcomes."""
    labels, count = ndimage.label(pre > 0)
    assert count == len(BUILDINGS)
    per_cell = np.stack([block_sum(labels == k + 1, CELL).ravel() for k in range(count)])  # buildings x cells
    mean_f = float(ds["mean_f"])
    defined = np.isfinite(ds["dii"].to_numpy()).ravel()
    outcomes = np.array(list(itertools.product([0, 1], repeat=count)))
    dii = (outcomes @ per_cell / mean_f).astype(np.float32)
    return float(((defined & (dii >= theta)) @ persons_cell).mean())


def test_half_probability_matches_brute_force_and_is_wide():
    theta = 0.5
    pre, ds, result = _run([0.5] * 10, theta=theta)
    t = result.totals
    persons_cell = result.cells["persons"].to_numpy().ravel()
    exact = _brute_force(pre, ds, persons_cell, theta)
    assert t["persons_impacted"] == 0  # p_post = tau: nothing is lost in the point estimate
    assert t["persons_impacted_expected"] == pytest.approx(exact, abs=0.02 * t["persons"])
    assert t["persons_impacted_high"] - t["persons_impacted_low"] > 0.3 * t["persons"]
    assert t["persons_impacted_low"] <= t["persons_impacted_expected"] <= t["persons_impacted_high"]
    cells = result.cells
    assert (cells["persons_impacted_low"] <= cells["persons_impacted_expected"]).all()
    assert (cells["persons_impacted_expected"] <= cells["persons_impacted_high"]).all()
    assert (cells["persons_impacted_high"] <= cells["persons"] + 1e-9).all()
    _zone_sums_match(result)


def test_interval_contains_the_estimate_and_chunks_do_not_matter(monkeypatch):
    post_prob = [0.05, 0.1, 0.9, 0.95, 0.1, 0.9, 0.95, 0.05, 0.9, 0.9]  # clearly lost or clearly kept
    _, _, result = _run(post_prob, theta=0.5, n_boot=500)
    t = result.totals
    assert t["persons_impacted"] > 0
    assert t["persons_impacted_low"] <= t["persons_impacted"] <= t["persons_impacted_high"]
    assert (result.units["persons_impacted_low"] <= result.units["persons_impacted"]).all()
    assert (result.units["persons_impacted"] <= result.units["persons_impacted_high"]).all()
    _zone_sums_match(result)
    monkeypatch.setattr(stats, "_BUDGET", 7)  # one draw at a time
    _, _, chunked = _run(post_prob, theta=0.5, n_boot=500)
    for key in ("expected", "low", "high"):
        assert chunked.totals[f"persons_impacted_{key}"] == pytest.approx(t[f"persons_impacted_{key}"])
        np.testing.assert_allclose(chunked.units[f"persons_impacted_{key}"], result.units[f"persons_impacted_{key}"])


def test_theta_from_attrs_argument_or_flags(caplog):
    post_prob = [0, 0, 1, 1, 0, 1, 1, 0, 1, 1]
    pre, post, src_pre, allocation, ds = _scene(post_prob, theta=0.5)
    post_src = ArraySource(post, TRANSFORM, UTM)
    high = affected_population(src_pre, post_src, allocation, ds, uncertainty="model", n_boot=200, theta=50.0)
    assert high.totals["persons_impacted_high"] == 0 and high.totals["interval_theta"] == 50.0
    assert ds["impacted"].attrs["theta"] == 0.5  # flag_impacted records its theta
    del ds.attrs["theta"]
    ds["impacted"].attrs.clear()
    with caplog.at_level(logging.WARNING, logger="geovision.impact.affected"):
        inferred = affected_population(src_pre, post_src, allocation, ds, uncertainty="model", n_boot=200)
    assert "theta" in caplog.text
    assert inferred.totals["persons_impacted_expected"] == pytest.approx(inferred.totals["persons_impacted"])


@pytest.mark.parametrize("n", [1, 7, 200, 2001])
def test_bernoulli_percentile_matches_numpy(n):
    for count in {0, 1, n // 40, n // 2, n - 1, n}:
        sample = np.r_[np.zeros(n - count), np.ones(count)]
        for q in (2.5, 50.0, 97.5):
            assert bernoulli_percentile(np.array([count]), n, q)[0] == pytest.approx(np.percentile(sample, q))


def test_summary_population_has_the_impacted_interval(tmp_path):
    """The report reads impact_buildings.population.persons_impacted_low/_high from the summary."""
    import json

    from geovision.impact.workflow import impact_stage
    from tests.rasters import write_geotiff

    post_prob = [1, 0, 0, 1, 1, 1, 1, 0, 1, 0]
    pre, post, _, _, _ = _scene(post_prob, theta=0.5)
    paths = [
        write_geotiff(tmp_path / f"{n}.tif", a.astype(np.uint8), transform=TRANSFORM)
        for n, a in (("pre", pre), ("post", post))
    ]
    census = tmp_path / "census.gpkg"
    gpd.GeoDataFrame(
        {"pop": [1200.0]}, crs=UTM, geometry=[shapely.box(TRANSFORM.c, TRANSFORM.f - 32, TRANSFORM.c + 48, TRANSFORM.f)]
    ).to_file(census)
    out = impact_stage(paths[0], paths[1], tmp_path / "out", cell_px=CELL, theta=0.5, census=census, interval="model")
    population = json.loads(out.paths["summary"].read_text())["population"]
    assert (
        population["persons_impacted_low"]
        == population["persons_impacted_high"]
        == pytest.approx(population["persons_impacted"])
    )
    assert population["persons_impacted"] > 0 and population["interval_theta"] == 0.5

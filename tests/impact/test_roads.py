import geopandas as gpd
import numpy as np
import pytest
import shapely

from geovision.impact.roads import damaged_roads, sample_lines
from geovision.impact.sources import ArraySource
from geovision.vector.skeleton import road_lines

from .conftest import TRANSFORM, UTM


def _roads():
    pre = np.zeros((200, 300), np.uint8)
    pre[148:153, 10:290] = 1  # east-west road, 140 m long
    post = pre.copy()
    post[:, 150:220] = 0  # 35 m of it covered by debris
    return pre, post


def test_lines_from_skeleton_lost_fraction_and_cells():
    pre, post = _roads()
    lines = road_lines(pre, transform=TRANSFORM, crs=UTM, min_spur_m=3)
    assert len(lines) == 1
    out, grid = damaged_roads(
        lines, ArraySource(post, TRANSFORM, UTM), pre=ArraySource(pre, TRANSFORM, UTM), cell_px=100
    )
    row = out.iloc[0]
    assert row["length_m"] == pytest.approx(138.5, abs=1.5)
    assert row["lost_fraction"] == pytest.approx(70 / 277, abs=0.02)
    assert row["lost_length_m"] == pytest.approx(35, abs=1.0)
    assert grid["road_lost_m"].sum() == pytest.approx(row["lost_length_m"], rel=0.02)
    share = grid["road_lost_share"].to_numpy()
    assert np.isnan(share[0]).all()  # no road in the top row of cells
    assert share[1, 1] == pytest.approx(0.5, abs=0.03) and share[1, 2] == pytest.approx(0.2 / 0.88, abs=0.03)


def test_given_lines_in_another_crs_without_pre_mask_and_tolerance():
    _, post = _roads()
    post = np.roll(post, 2, axis=0)  # post road 2 px off
    x0, y = TRANSFORM.c + 5, TRANSFORM.f - 75.25
    osm = gpd.GeoDataFrame(
        geometry=[shapely.LineString([(x0, y), (x0 + 140, y)]), shapely.LineString([(x0, y + 30), (x0 + 50, y + 30)])],
        crs=UTM,
    ).to_crs(4326)
    strict, _ = damaged_roads(osm, ArraySource(post, TRANSFORM, UTM))
    tolerant, _ = damaged_roads(osm, ArraySource(post, TRANSFORM, UTM), tolerance_px=3)
    assert strict["lost_fraction"].iloc[1] == pytest.approx(1.0)  # no road there at all after
    assert strict["lost_fraction"].iloc[0] > tolerant["lost_fraction"].iloc[0]
    assert tolerant["lost_fraction"].iloc[0] == pytest.approx(0.25, abs=0.03)
    assert tolerant.crs == osm.crs and tolerant["length_m"].iloc[0] == pytest.approx(140, rel=1e-3)


def test_sample_lines_spacing():
    lines = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (10, 0)]), shapely.LineString([(0, 0), (0, 0.2)])])
    idx, xs, ys = sample_lines(lines, 1.0)
    assert list(np.bincount(idx)) == [10, 1]
    np.testing.assert_allclose(xs[:10], np.arange(10) + 0.5)

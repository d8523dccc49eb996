"""The vector town: plausible, non-overlapping, seeded."""

from __future__ import annotations

import numpy as np
import shapely

from geovision.synth.events import scene_bounds
from geovision.synth.generate import DEFAULT_ORIGIN
from geovision.synth.layout import ARTERIAL, LOCAL, build_town
from geovision.synth.shapes import prism_shadows, rectangles


def rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def test_town_has_roads_buildings_water_and_cover(town_1km):
    t = town_1km
    assert len(t.buildings) > 300  # a suburban density, not a handful
    assert set(np.unique(t.road_kind)) == {ARTERIAL, LOCAL}
    assert len(t.water) >= 1 and t.river_line is not None
    assert len(t.cover) == len(t.cover_kind) == len(t.cover_trees) > 0
    area = shapely.area(t.buildings.footprint)
    assert area.min() > 4 and area.max() < 5000  # sheds to warehouses
    assert len(np.unique(np.round(t.buildings.roof_rgb))) > 10


def test_buildings_do_not_overlap_each_other_roads_water_or_the_edge(town_1km):
    t = town_1km
    fp = t.buildings.footprint
    left, right = shapely.STRtree(fp).query(fp, predicate="intersects")
    assert np.array_equal(left, right)
    assert len(shapely.STRtree(fp).query(t.road_poly, predicate="intersects")[0]) == 0
    assert len(shapely.STRtree(fp).query(t.water, predicate="intersects")[0]) == 0
    assert shapely.contains(shapely.box(*t.bounds), fp).all()


def test_roads_are_lines_and_the_network_is_mostly_connected(town_1km):
    t = town_1km
    assert (shapely.get_type_id(t.road_line) == 1).all()
    merged = shapely.get_parts(shapely.union_all(t.road_poly))
    assert shapely.area(merged).max() > 0.8 * shapely.area(merged).sum()


def test_same_seed_same_town_other_seed_other_town():
    bounds = scene_bounds(800, 800, 0.5, DEFAULT_ORIGIN)
    a, b, c = (build_town(bounds, rng(s), river=False) for s in (3, 3, 4))
    assert np.array_equal(shapely.to_wkb(a.buildings.footprint), shapely.to_wkb(b.buildings.footprint))
    assert np.array_equal(shapely.to_wkb(a.road_line), shapely.to_wkb(b.road_line))
    assert not np.array_equal(shapely.to_wkb(a.road_line), shapely.to_wkb(c.road_line))


def test_prism_shadow_of_an_l_shape_leaves_its_notch_unshaded():
    rect = rectangles(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]), np.array([10.0]), np.array([5.0]))[0]
    wing = rectangles(np.array([[7.0, -8.0]]), np.array([[1.0, 0.0]]), np.array([3.0]), np.array([3.5]))[0]
    l_shape = shapely.union(rect, wing)
    shadow = shapely.union_all(prism_shadows(np.array([l_shape]), np.array([2.0]), (-1.0, -1.0)))
    notch = shapely.Point(-2.0, -8.0)  # below the main block, left of the wing
    assert not shadow.contains(notch)
    assert shadow.contains(shapely.Point(-10.5, -5.5))  # just beyond the south-west corner
    square = shapely.box(0, 0, 4, 4)
    hull = prism_shadows(np.array([square]), np.array([1.0]), (1.0, 0.0))
    assert len(hull) == 1 and abs(hull[0].area - 20.0) < 1e-9

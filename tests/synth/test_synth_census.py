"""Residents and the synthetic census."""

from __future__ import annotations

import numpy as np
import shapely

from geovision.synth.census import make_census, residents
from geovision.synth.layout import COMMERCIAL, SHED


def rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def test_only_houses_have_residents_about_two_and_a_half_each(town_1km):
    b = town_1km.buildings
    pop = residents(b, rng(1))
    assert pop.dtype == np.int64 and pop.min() >= 0
    assert pop[np.isin(b.kind, (SHED, COMMERCIAL))].sum() == 0
    houses = pop[b.kind == 1]
    assert 1.8 < houses.mean() < 3.5


def test_census_units_tile_the_scene_and_count_its_residents(town_1km):
    b = town_1km.buildings
    pop = residents(b, rng(1))
    census = make_census(town_1km.bounds, b, pop, rng(2))
    box = shapely.box(*town_1km.bounds)
    areas = shapely.area(census.polygon)
    assert abs(areas.sum() - box.area) < 1e-3 * box.area
    assert shapely.union_all(census.polygon).symmetric_difference(box).area < 1e-3 * box.area
    assert len(census.polygon) == len(census.name) == len(census.pop) >= 4
    assert census.pop.dtype == np.int64 and census.pop.min() >= 0
    assert abs(census.pop.sum() - pop.sum()) < 0.2 * pop.sum()
    # counts follow the buildings: the unit with most residents has the highest count, give or take noise
    inside = np.array(
        [pop[shapely.contains(poly, shapely.point_on_surface(b.footprint))].sum() for poly in census.polygon]
    )
    assert np.corrcoef(inside, census.pop)[0, 1] > 0.95

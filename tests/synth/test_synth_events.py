"""Events: damage only inside the affected area, stronger where the event is stronger."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geovision.synth.events import DESTROYED, EVENTS, MAJOR, MINOR, NO_DAMAGE, lost_fraction, make_disaster


def rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


@pytest.fixture(scope="module")
def disasters(town_1km):
    return {kind: make_disaster(town_1km, kind, rng(21)) for kind in EVENTS}


@pytest.mark.parametrize("kind", EVENTS)
def test_damage_only_inside_the_affected_area_and_lost_means_major_or_destroyed(town_1km, disasters, kind):
    d = disasters[kind]
    fp = town_1km.buildings.footprint
    assert d.damage.shape == (len(fp),) and set(np.unique(d.damage)) <= {NO_DAMAGE, MINOR, MAJOR, DESTROYED}
    assert np.array_equal(d.lost, np.isin(d.damage, (MAJOR, DESTROYED)))
    assert shapely.intersects(d.region, fp[d.damage > NO_DAMAGE]).all()
    assert d.lost.sum() > 0, f"a {kind} through a 1 km town should destroy something"
    assert 0 < d.region.area < town_1km.bounds.area
    values = [v for v, _ in d.levels]
    assert values == sorted(values)
    for (_, outer), (_, inner) in zip(d.levels, d.levels[1:], strict=False):
        assert outer.buffer(1e-6).contains(inner)


@pytest.mark.parametrize("kind", ["tornado", "fire"])
def test_destroyed_buildings_lie_deeper_in_the_region_than_minor_ones(town_1km, disasters, kind):
    d = disasters[kind]
    centres = shapely.centroid(town_1km.buildings.footprint)
    depth = shapely.distance(centres, d.region.boundary)
    hit = d.damage > NO_DAMAGE
    assert depth[d.damage == DESTROYED].mean() > depth[hit & (d.damage == MINOR)].mean()


def test_flood_loses_exactly_the_roads_under_water(town_1km, disasters):
    d = disasters["flood"]
    assert d.road_loss.equals(d.region)
    frac = lost_fraction(town_1km, d.road_loss)
    outside = ~shapely.intersects(town_1km.road_line, d.region)
    assert (frac[outside] == 0).all() and frac.max() > 0.5
    assert not d.region.intersects(shapely.union_all(town_1km.water).buffer(-0.01))


def test_tornado_road_debris_is_inside_the_track_and_partial(town_1km, disasters):
    d = disasters["tornado"]
    assert d.region.buffer(30).contains(d.road_loss)
    frac = lost_fraction(town_1km, d.road_loss)
    assert ((frac >= 0) & (frac <= 1)).all() and 0 < frac.max() <= 1 and (frac == 0).any()


def test_unknown_event_is_refused(town_1km):
    with pytest.raises(ValueError, match="unknown event"):
        make_disaster(town_1km, "earthquake", rng(0))

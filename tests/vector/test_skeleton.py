import networkx as nx
import numpy as np
import pytest
from affine import Affine

from geovision.errors import ConfigError
from geovision.vector.skeleton import road_lines, skeleton_graph

UTM = "EPSG:32615"
TRANSFORM = Affine(0.5, 0, 360000, 0, -0.5, 4110000)


def test_cross_gives_one_junction_and_four_arms():
    mask = np.zeros((100, 120), bool)
    mask[48:53, 5:115] = True
    mask[5:95, 58:63] = True
    graph = skeleton_graph(mask, transform=TRANSFORM)
    degrees = sorted(d for _, d in graph.degree())
    assert degrees == [1, 1, 1, 1, 4]
    lines = road_lines(mask, transform=TRANSFORM, crs=UTM, min_spur_m=3)
    assert len(lines) == 4 and lines.crs.to_epsg() == 32615
    assert lines["length_m"].sum() == pytest.approx((110 + 90) * 0.5, rel=0.08)
    assert set(lines.geom_type) == {"LineString"}


def test_ring_corners_and_separate_components():
    mask = np.zeros((80, 120), bool)
    mask[10:50, 10:50] = True
    mask[14:46, 14:46] = False  # a ring road: one closed loop, no node
    mask[60:63, 60:110] = True  # a separate straight road
    mask[20:55, 80:83] = True  # an L-shaped road (corner is not a junction)
    mask[20:23, 80:110] = True
    graph = skeleton_graph(mask)
    assert nx.number_connected_components(graph) == 3
    loops = [d for u, v, d in graph.edges(data=True) if u == v]
    assert len(loops) == 1 and loops[0]["geometry"].is_ring
    assert loops[0]["geometry"].length == pytest.approx(4 * 36, rel=0.05)
    assert max(d for _, d in graph.degree()) <= 2  # the loop counts 2 at its node; no junctions elsewhere


def test_spur_pruning_and_simplify():
    mask = np.zeros((60, 200), bool)
    mask[28:33, 5:195] = True
    mask[20:28, 100:103] = True  # a 4 m stub sticking out
    kept = road_lines(mask, transform=TRANSFORM, crs=UTM)
    pruned = road_lines(mask, transform=TRANSFORM, crs=UTM, min_spur_m=6, simplify_m=0.5)
    assert len(kept) > len(pruned)
    assert pruned["length_m"].sum() == pytest.approx(95, rel=0.05)
    assert max(len(g.coords) for g in pruned.geometry) < 10
    with pytest.raises(ConfigError):
        road_lines(mask, transform=TRANSFORM, crs=UTM, min_spur_m=-1)
    assert len(road_lines(np.zeros((10, 10), bool), transform=TRANSFORM, crs=UTM)) == 0

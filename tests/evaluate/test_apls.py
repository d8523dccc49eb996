"""Road graphs and APLS: hand-computed cases and the SpaceNet 3 sample."""

from __future__ import annotations

import math

import pytest
from shapely.geometry import LineString

from geovision.evaluate.apls import apls_graphs
from geovision.evaluate.road_graph import (inject_midpoints, lines_to_graph, road_graph,
                                           simplify_graph, snap_points)
from geovision.evaluate.roads import relaxed_f1, road_scores
from geovision.evaluate.vectors import PixelGrid, align_image_ids, read_vectors


def test_simplify_merges_degree_two_chains_and_keeps_junctions():
    graph = simplify_graph(lines_to_graph([LineString([(0, 0), (10, 0), (20, 5), (30, 0)]),
                                           LineString([(10, 0), (10, 10)])]))
    assert graph.number_of_nodes() == 4  # ends (0,0), (30,0), (10,10) and the junction (10,0)
    lengths = sorted(round(d, 3) for *_, d in graph.edges(data="length"))
    assert lengths == [10.0, 10.0, round(2 * math.hypot(10, 5), 3)]


def test_lines_crossing_without_shared_vertex_are_not_connected():
    graph = lines_to_graph([LineString([(0, 5), (10, 5)]), LineString([(5, 0), (5, 10)])])
    assert graph.number_of_nodes() == 4 and graph.number_of_edges() == 2


def test_short_components_are_dropped():
    graph = road_graph([LineString([(0, 0), (100, 0)]), LineString([(0, 50), (2, 50)])], min_subgraph_length_m=5)
    assert graph.number_of_edges() == 1


def test_midpoints_only_on_long_curved_edges():
    bent = LineString([(0, 0), (250, 0), (250, 250)])  # 500 m, curved -> 2 nodes at 166.7 and 333.3 m
    straight = LineString([(0, 100), (0, 600)])
    graph = inject_midpoints(simplify_graph(lines_to_graph([bent, straight])))
    assert graph.number_of_nodes() == 4 + 2
    xy = sorted((round(d["x"], 1), round(d["y"], 1)) for _, d in graph.nodes(data=True))
    assert (166.7, 0.0) in xy and (250.0, 83.3) in xy
    assert sum(d for *_, d in graph.edges(data="length")) == pytest.approx(1000.0)


def test_snap_splits_edges_reuses_end_nodes_and_skips_far_points():
    graph = lines_to_graph([LineString([(0, 0), (100, 0)])])
    snapped_graph, nodes = snap_points(graph, [[-2, 1], [40, 3], [40, 3.5], [50, 10]], max_distance_m=4)
    assert nodes[0] == 0 and nodes[1] == nodes[2] and nodes[1] not in (0, 1) and nodes[3] is None
    assert sorted(round(d, 6) for *_, d in snapped_graph.edges(data="length")) == [40.0, 60.0]


def test_identical_graphs_score_one():
    lines = [LineString([(0, 0), (100, 0), (100, 100)]), LineString([(100, 0), (200, 0)])]
    result = apls_graphs(road_graph(lines), road_graph(lines))
    assert result.apls == pytest.approx(1.0)


def test_hand_computed_path_length_difference():
    truth = road_graph([LineString([(0, 0), (100, 0)])])
    pred = road_graph([LineString([(0, 0), (50, 3), (100, 0)])])
    length = 2 * math.hypot(50, 3)
    result = apls_graphs(truth, pred)
    a, b = 1 - (length - 100) / 100, 1 - (length - 100) / length
    assert result.apls_gt_onto_prop == pytest.approx(a)
    assert result.apls_prop_onto_gt == pytest.approx(b)
    assert result.apls == pytest.approx(2 * a * b / (a + b))


def test_hand_computed_missing_branch():
    truth = road_graph([LineString([(0, 0), (50, 0), (100, 0)]), LineString([(50, 0), (50, 60)])])
    pred = road_graph([LineString([(0, 0), (100, 0)])])
    result = apls_graphs(truth, pred)
    # 12 truth paths; the branch end does not snap: its 3 paths and the 3 paths to it score 1 -> 0.5
    assert result.apls_gt_onto_prop == pytest.approx(0.5)
    assert result.apls_prop_onto_gt == pytest.approx(1.0)
    assert result.apls == pytest.approx(2 / 3)
    assert (result.n_paths_gt_onto_prop, result.n_snapped_gt) == (12, 3)


def test_disconnected_prediction_scores_zero():
    truth = road_graph([LineString([(0, 0), (100, 0)])])
    pred = road_graph([LineString([(0, 0), (40, 0)]), LineString([(60, 0), (100, 0)])])
    assert apls_graphs(truth, pred).apls == 0.0


def test_empty_graphs():
    truth = road_graph([LineString([(0, 0), (100, 0)])])
    empty = road_graph([])
    assert apls_graphs(truth, empty).apls == 0.0
    assert apls_graphs(empty, truth).apls == 0.0
    assert apls_graphs(empty, empty).apls == 1.0


def test_relaxed_f1():
    truth = [LineString([(0, 0), (100, 0)])]
    pred = [LineString([(0, 1), (100, 1)]), LineString([(0, 50), (100, 50)])]
    result = relaxed_f1(pred, truth, buffer_m=3)
    assert result["precision"] == pytest.approx(0.5)
    assert result["recall"] == pytest.approx(1.0)
    assert result["f1"] == pytest.approx(2 / 3)


@pytest.fixture(scope="module")
def spacenet_sample(shared_data):
    """SpaceNet 3's APLS sample (Vegas img0 truth, ``albu`` CSV proposal), aligned."""
    folder = shared_data / "spacenet3_vegas_roads_apls"
    grid = PixelGrid.from_raster(folder / "images" / "RGB-PanSharpen_AOI_2_Vegas_img0.tif")
    pred = read_vectors(folder / "gt_json_prop_wkt" / "proposal" / "sn3_sample_submission_albu.csv",
                        pixel_grid=grid, image_id="AOI_2_Vegas_img0")
    truth = read_vectors(folder / "gt_json_prop_wkt" / "ground_truth_randomized" / "AOI_2_Vegas_img0.geojson")
    return align_image_ids(pred, truth)


# CosmiQ's released ``apls`` 0.1.0 (PyPI; its apls.py has the repo's 131,173 characters) run on
# this pair with the README's command (``--test_method=gt_json_prop_wkt --max_snap_dist=N``),
# with its duplicate-edge bug fixed (see apls.py): (total, truth->prediction, prediction->truth).
# The score depends strongly on the snap distance because the proposal runs 3-5 m off the truth.
COSMIQ_SAMPLE = {3.0: (0.6540, 0.6112, 0.7032), 4.0: (0.7925, 0.8231, 0.7641), 5.0: (0.8853, 0.9003, 0.8708)}


@pytest.mark.parametrize("snap_m", sorted(COSMIQ_SAMPLE))
def test_spacenet3_sample_matches_cosmiq_code(spacenet_sample, snap_m):
    """Our APLS equals CosmiQ's code on this pair, except for one bug we do not copy: apls.py
    deletes *both* copies of a road segment that two ground-truth lines share, which here cuts
    the main east-west road (with the bug it scores 0.6894 at 4 m)."""
    pred, truth = spacenet_sample
    apls = road_scores(pred, truth, max_snap_dist_m=snap_m)["per_image"]["AOI_2_Vegas_img0"]["apls"]
    total, gt_onto_prop, prop_onto_gt = COSMIQ_SAMPLE[snap_m]
    assert apls["apls"] == pytest.approx(total, abs=0.002)
    assert apls["apls_gt_onto_prop"] == pytest.approx(gt_onto_prop, abs=0.002)
    assert apls["apls_prop_onto_gt"] == pytest.approx(prop_onto_gt, abs=0.002)
    assert (apls["n_control_gt"], apls["n_control_prop"]) == (71, 86)
    assert (apls["n_paths_gt_onto_prop"], apls["n_paths_prop_onto_gt"]) == (4970, 6974)


@pytest.mark.xfail(strict=True, reason=(
    "output__max_snap=4m_hole=4m.txt (0.7362) was not produced from this GT + CSV: CosmiQ's released "
    "code gives 0.6894 on them (0.7925 without its duplicate-edge bug), and the file's TOPO line is "
    "implausible for these graphs (precision 0.682: p=0.001 over TOPO's random origins), so another "
    "proposal graph (likely the repo's pickled one) was scored"))
def test_spacenet3_sample_reference_output(shared_data, spacenet_sample):
    reference = (shared_data / "spacenet3_vegas_roads_apls" / "output__max_snap=4m_hole=4m.txt").read_text()
    expected = float(reference.split("Total APLS Score:")[1].split()[0])
    pred, truth = spacenet_sample
    assert road_scores(pred, truth)["apls"] == pytest.approx(expected, abs=0.01)

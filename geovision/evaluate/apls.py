"""APLS, the Average Path Length Similarity of SpaceNet 3 (Van Etten et al., 2018).

For control points of graph A (its nodes after injecting midpoints), snap each onto graph B
(within ``max_snap_dist_m``) and compare the shortest-path length between every ordered pair of
control points in A with the length between the same snapped points in B:
``diff = min(1, |L_A - L_B| / L_A)``, and 1 when the pair has no path in B or a point did not
snap. ``APLS(A -> B) = 1 - mean(diff)``; the total is the harmonic mean of
``APLS(truth -> prediction)`` and ``APLS(prediction -> truth)`` (0 if either is 0).

Defaults are those of CosmiQ's ``apls.py`` command line and of its SpaceNet 3 reference run
(``max_snap_dist=4`` m, ``linestring_delta=200`` m, ``is_curved_eps=0.12``,
``min_path_length=0.001`` m). The reference output of SpaceNet's sample
(``output__max_snap=4m_hole=4m.txt``, method ``gt_pkl_prop_pkl``: Vegas img0 ground-truth graph
against a proposal graph) is reproduced to 1e-12 from the JSON exports of those two graphs
(:mod:`geovision.evaluate.graph_json`): 0.7362 = hmean(0.7974, 0.6837), and so it is from the
ground-truth geojson built with CosmiQ's graph rules (``road_graph(rules="cosmiq")``, which
rebuild that pickled graph exactly). The older run ``reference_2019_gt_json_prop_graph`` (0.7598,
geojson truth against the same proposal graph) is reproduced to 1e-12 the same way given the
geojson it used, which had two roads (208.5 m) that the shared copy lacks. The ``hole`` of those
file names is TOPO's hole size and plays no part in APLS.

Deliberate differences from ``apls.py``, none of which changes those two results: points that
land on the same node all keep their identity (the reference renames the node, so the earlier
point is lost), all control points are used however large the graph (the reference samples 500
at random above 500 nodes), and two empty graphs score 1. How graphs are built from lines
(``apls.py`` deletes both copies of a segment that two lines share) is chosen in
:func:`~geovision.evaluate.road_graph.road_graph`; with geovision's rules, Vegas img0 against
the ``albu`` CSV agrees to 1e-3 with CosmiQ's released code (``apls`` 0.1.0,
``--test_method=gt_json_prop_wkt``) with that bug fixed: 0.654 / 0.7925 / 0.885 at
3 / 4 / 5 m snapping (0.6894 at 4 m with the bug).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import networkx as nx
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from geovision.evaluate.road_graph import inject_midpoints, node_xy, snap_points

# the SpaceNet 3 reference run's settings (CosmiQ apls.py command line)
DEFAULT_MAX_SNAP_M = 4.0  # max_snap_dist
DEFAULT_MIDPOINT_SPACING_M = 200.0  # linestring_delta
DEFAULT_CURVATURE_EPS = 0.12  # is_curved_eps (negative: midpoints on straight edges too)
DEFAULT_MIN_PATH_LENGTH_M = 0.001  # min_path_length

# shortest paths are computed for this many source nodes at a time (bounds memory)
_SOURCES_PER_BLOCK = 256
# scipy drops explicit zero weights; a zero-length edge gets this length instead (metres)
_MIN_EDGE_M = 1e-9


@dataclass(frozen=True)
class APLSResult:
    """APLS total and both directions, with the counts behind them."""

    apls: float
    apls_gt_onto_prop: float
    apls_prop_onto_gt: float
    n_control_gt: int
    n_control_prop: int
    n_snapped_gt: int
    n_snapped_prop: int
    n_paths_gt_onto_prop: int
    n_paths_prop_onto_gt: int

    def to_dict(self) -> dict:
        return asdict(self)


class _PathLengths:
    """Shortest-path lengths in one graph between lists of its nodes (scipy's Dijkstra)."""

    def __init__(self, graph: nx.MultiGraph):
        self.index = {node: i for i, node in enumerate(graph.nodes)}
        shortest: dict[tuple[int, int], float] = {}  # scipy would sum parallel edges: keep the shortest
        for u, v, length in graph.edges(data="length"):
            a, b = self.index[u], self.index[v]
            pair = (min(a, b), max(a, b))
            shortest[pair] = min(max(float(length), _MIN_EDGE_M), shortest.get(pair, np.inf))
        n = len(self.index)
        pairs = np.array(list(shortest), dtype=np.int64).reshape(-1, 2)
        weights = np.fromiter(shortest.values(), dtype=float, count=len(shortest))
        self.matrix = coo_matrix((weights, (pairs[:, 0], pairs[:, 1])), shape=(n, n)).tocsr()

    def __call__(self, sources: list, targets: list) -> np.ndarray:
        """``(len(sources), len(targets))`` lengths; ``inf`` where there is no path."""
        source_idx = np.array([self.index[s] for s in sources], dtype=np.int64)
        target_idx = np.array([self.index[t] for t in targets], dtype=np.int64)
        if len(source_idx) == 0:
            return np.empty((0, len(target_idx)))
        dist = dijkstra(self.matrix, directed=False, indices=source_idx)
        return dist.reshape(len(source_idx), -1)[:, target_idx]


def _directional_score(
    native: nx.MultiGraph,
    control: list[int],
    other: nx.MultiGraph,
    snapped: list[int | None],
    *,
    min_path_length_m: float,
) -> tuple[float, int]:
    """``1 - mean(diff)`` over paths between ``control`` nodes of ``native`` (the reference's
    ``path_sim_metric``), with ``snapped[i]`` the node of ``other`` that control ``i`` became.
    Sources are processed in blocks, so memory grows with the number of control points, not its square."""
    native_paths, other_paths = _PathLengths(native), _PathLengths(other)
    n = len(control)
    is_snapped = np.array([node is not None for node in snapped], dtype=bool)
    ok = np.flatnonzero(is_snapped)
    mapped = [snapped[i] for i in ok]
    total, n_paths = 0.0, 0
    for start in range(0, n, _SOURCES_PER_BLOCK):
        rows = np.arange(start, min(n, start + _SOURCES_PER_BLOCK))
        lengths = native_paths([control[i] for i in rows], control)
        has_path = np.isfinite(lengths)
        has_path[np.arange(len(rows)), rows] = False
        # a control point that did not snap: every path from it counts as a full miss
        misses = int(has_path[~is_snapped[rows]].sum())
        total, n_paths = total + misses, n_paths + misses
        here = is_snapped[rows]
        if not here.any():
            continue
        other_lengths = np.full((int(here.sum()), n), np.inf)
        other_lengths[:, ok] = other_paths([snapped[i] for i in rows[here]], mapped)
        native_lengths = lengths[here]
        counted = has_path[here] & (native_lengths >= min_path_length_m)
        with np.errstate(invalid="ignore", divide="ignore"):
            diff = np.minimum(1.0, np.abs(native_lengths - other_lengths) / native_lengths)
        diff = np.where(np.isfinite(other_lengths), diff, 1.0)
        total += float(diff[counted].sum())
        n_paths += int(counted.sum())
    if n_paths == 0:
        return 0.0, 0
    return 1.0 - total / n_paths, n_paths


def apls_graphs(
    truth: nx.MultiGraph,
    prediction: nx.MultiGraph,
    *,
    max_snap_dist_m: float = DEFAULT_MAX_SNAP_M,
    midpoint_spacing_m: float = DEFAULT_MIDPOINT_SPACING_M,
    curvature_eps: float = DEFAULT_CURVATURE_EPS,
    min_path_length_m: float = DEFAULT_MIN_PATH_LENGTH_M,
) -> APLSResult:
    """APLS between two road graphs of :mod:`geovision.evaluate.road_graph` in one metric CRS."""
    truth_cp = inject_midpoints(truth, spacing_m=midpoint_spacing_m, curvature_eps=curvature_eps)
    pred_cp = inject_midpoints(prediction, spacing_m=midpoint_spacing_m, curvature_eps=curvature_eps)
    truth_nodes, truth_xy = node_xy(truth_cp)
    pred_nodes, pred_xy = node_xy(pred_cp)
    if not truth_nodes or not pred_nodes:
        score = 1.0 if not truth_nodes and not pred_nodes else 0.0
        return APLSResult(score, score, score, len(truth_nodes), len(pred_nodes), 0, 0, 0, 0)
    pred_prime, truth_on_pred = snap_points(prediction, truth_xy, max_distance_m=max_snap_dist_m)
    truth_prime, pred_on_truth = snap_points(truth, pred_xy, max_distance_m=max_snap_dist_m)
    gt_onto_prop, n_gt = _directional_score(
        truth_cp, truth_nodes, pred_prime, truth_on_pred, min_path_length_m=min_path_length_m
    )
    prop_onto_gt, n_prop = _directional_score(
        pred_cp, pred_nodes, truth_prime, pred_on_truth, min_path_length_m=min_path_length_m
    )
    if gt_onto_prop <= 0 or prop_onto_gt <= 0:
        total = 0.0
    else:
        total = 2.0 * gt_onto_prop * prop_onto_gt / (gt_onto_prop + prop_onto_gt)
    return APLSResult(
        apls=total,
        apls_gt_onto_prop=gt_onto_prop,
        apls_prop_onto_gt=prop_onto_gt,
        n_control_gt=len(truth_nodes),
        n_control_prop=len(pred_nodes),
        n_snapped_gt=sum(node is not None for node in truth_on_pred),
        n_snapped_prop=sum(node is not None for node in pred_on_truth),
        n_paths_gt_onto_prop=n_gt,
        n_paths_prop_onto_gt=n_prop,
    )

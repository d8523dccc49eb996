"""Road mask to centreline graph: skeletonise, trace pixel chains, build a networkx graph of LineStrings.

Nodes are road ends and junctions (adjacent junction pixels merge into one node);
edges carry the traced centreline as a LineString in map coordinates.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from affine import Affine
from scipy import sparse
from scipy.sparse import csgraph
from skimage.morphology import skeletonize

from geovision.errors import ConfigError
from geovision.vector.units import length_m, metres_per_map_unit, pixel_xy


def skeleton_adjacency(skeleton: np.ndarray) -> tuple[np.ndarray, np.ndarray, sparse.csr_matrix]:
    """Rows, cols and the symmetric 8-neighbour adjacency of skeleton pixels.

    A diagonal step is dropped where the two pixels already share a 4-neighbour on
    the skeleton, so an L-corner does not look like a junction.
    """
    skeleton = np.asarray(skeleton, dtype=bool)
    rows, cols = np.nonzero(skeleton)
    index = np.full(skeleton.shape, -1, dtype=np.int64)
    index[rows, cols] = np.arange(rows.size)
    padded = np.pad(skeleton, 1)
    pairs = []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        r2, c2 = rows + dr, cols + dc
        inside = (r2 < skeleton.shape[0]) & (c2 >= 0) & (c2 < skeleton.shape[1])
        r1, c1, r2, c2 = rows[inside], cols[inside], r2[inside], c2[inside]
        keep = skeleton[r2, c2]
        if dr and dc:  # diagonal: skip when a shared 4-neighbour exists
            keep &= ~(padded[r1 + 1, c2 + 1] | padded[r2 + 1, c1 + 1])
        pairs.append((index[r1[keep], c1[keep]], index[r2[keep], c2[keep]]))
    a = np.concatenate([p[0] for p in pairs])
    b = np.concatenate([p[1] for p in pairs])
    n = rows.size
    adjacency = sparse.coo_matrix((np.ones(a.size * 2, dtype=np.int8), (np.r_[a, b], np.r_[b, a])), shape=(n, n))
    return rows, cols, adjacency.tocsr()


def _walk(start: int, first: int, adjacency: sparse.csr_matrix, is_node: np.ndarray) -> list[int]:
    """Follow a chain of degree-2 pixels from ``start`` through ``first`` until a node pixel (or back to start)."""
    path, previous, current = [start, first], start, first
    while not is_node[current] and current != start:
        neighbours = adjacency.indices[adjacency.indptr[current] : adjacency.indptr[current + 1]]
        following = [n for n in neighbours if n != previous]
        if not following:
            break
        previous, current = current, following[0]
        path.append(current)
    return path


def skeleton_graph(
    mask: np.ndarray, *, transform: Affine = Affine.identity(), skeleton: np.ndarray | None = None
) -> nx.MultiGraph:
    """Centreline graph of a road mask. Node attrs ``x, y``; edge attrs ``geometry`` (LineString), ``n_px``."""
    skel = skeletonize(np.asarray(mask, dtype=bool)) if skeleton is None else np.asarray(skeleton, dtype=bool)
    rows, cols, adjacency = skeleton_adjacency(skel)
    degree = np.diff(adjacency.indptr)
    junction = degree >= 3
    is_node = degree != 2
    # merge touching junction pixels into one node
    node_of = np.full(rows.size, -1, dtype=np.int64)
    jidx = np.flatnonzero(junction)
    if jidx.size:
        _, labels = csgraph.connected_components(adjacency[jidx][:, jidx], directed=False)
        node_of[jidx] = labels
    ends = np.flatnonzero(degree == 1)
    node_of[ends] = (node_of.max(initial=-1) + 1) + np.arange(ends.size)
    xs, ys = pixel_xy(transform, cols + 0.5, rows + 0.5)
    graph = nx.MultiGraph()
    for node in np.unique(node_of[node_of >= 0]):
        members = np.flatnonzero(node_of == node)
        graph.add_node(int(node), x=float(xs[members].mean()), y=float(ys[members].mean()))
    visited = np.zeros(rows.size, dtype=bool)  # degree-2 pixels already traced
    node_pairs: set[tuple[int, int]] = set()  # directly adjacent node pixels already joined

    def add_edge(path: list[int]) -> None:
        a, b = int(node_of[path[0]]), int(node_of[path[-1]])
        if a == b and a >= 0 and len(path) == 2:
            return  # two pixels of one merged junction
        coords = np.column_stack([xs[path], ys[path]])
        u = a if a >= 0 else _add_loop_node(graph, coords[0])
        v = b if b >= 0 else u
        coords[0] = (graph.nodes[u]["x"], graph.nodes[u]["y"])
        coords[-1] = (graph.nodes[v]["x"], graph.nodes[v]["y"])
        graph.add_edge(u, v, geometry=shapely.LineString(coords), n_px=len(path))

    for start in np.flatnonzero(is_node & (degree > 0)):
        for first in adjacency.indices[adjacency.indptr[start] : adjacency.indptr[start + 1]]:
            if is_node[first]:
                pair = (min(start, first), max(start, first))
                if pair in node_pairs:
                    continue
                node_pairs.add(pair)
            elif visited[first]:
                continue
            path = _walk(int(start), int(first), adjacency, is_node)
            visited[path[1:-1]] = True
            add_edge(path)
    # closed loops with no end or junction (e.g. a ring road)
    for start in np.flatnonzero(~is_node & ~visited):
        if visited[start]:
            continue
        first = adjacency.indices[adjacency.indptr[start]]
        path = _walk(int(start), int(first), adjacency, is_node)
        visited[path] = True
        add_edge(path)
    return graph


def _add_loop_node(graph: nx.MultiGraph, xy: np.ndarray) -> int:
    node = max(graph.nodes, default=-1) + 1
    graph.add_node(node, x=float(xy[0]), y=float(xy[1]))
    return node


def prune_spurs(graph: nx.MultiGraph, min_length: float) -> nx.MultiGraph:
    """Drop dead-end edges shorter than ``min_length`` (map units), once; remove isolated nodes."""
    if min_length <= 0:
        return graph
    spurs = [
        (u, v, k)
        for u, v, k, data in graph.edges(keys=True, data=True)
        if data["geometry"].length < min_length and u != v and (graph.degree(u) == 1) != (graph.degree(v) == 1)
    ]
    graph.remove_edges_from(spurs)
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    return graph


def graph_to_lines(graph: nx.MultiGraph, crs: Any) -> gpd.GeoDataFrame:
    """One row per edge: ``u``, ``v``, ``geometry`` (LineString), ``length_m``."""
    records = [{"u": u, "v": v, "geometry": data["geometry"]} for u, v, data in graph.edges(data=True)]
    gdf = gpd.GeoDataFrame(records, columns=["u", "v", "geometry"], geometry="geometry", crs=crs)
    gdf["length_m"] = length_m(gdf)
    return gdf


def road_lines(
    mask: np.ndarray, *, transform: Affine, crs: Any, min_spur_m: float = 0.0, simplify_m: float = 0.0
) -> gpd.GeoDataFrame:
    """Road centrelines (LineStrings with ``u``, ``v`` node ids and ``length_m``) from a road mask.

    ``min_spur_m`` prunes dead-end branches shorter than that (skeleton hairs);
    ``simplify_m`` removes the pixel staircase (Douglas-Peucker, in metres).
    """
    if min_spur_m < 0 or simplify_m < 0:
        raise ConfigError("min_spur_m and simplify_m must be >= 0", fix="pass non-negative lengths in metres")
    graph = skeleton_graph(mask, transform=transform)
    metres_per_unit = metres_per_map_unit(transform, crs)
    graph = prune_spurs(graph, min_spur_m / metres_per_unit)
    lines = graph_to_lines(graph, crs)
    if simplify_m > 0 and len(lines):
        lines["geometry"] = lines.geometry.simplify(simplify_m / metres_per_unit, preserve_topology=False)
        lines["length_m"] = length_m(lines)
    return lines

"""Road centrelines as graphs, built the way the SpaceNet 3 APLS reference builds them.

A graph is an undirected ``networkx.MultiGraph`` in a metric CRS: nodes carry ``x``/``y``
(metres), edges carry a ``geometry`` LineString and its planar ``length`` in metres.

The steps follow CosmiQ's ``apls`` code (``wkt_to_G``, ``graphTools``, ``osmnx`` simplify),
re-implemented with networkx + shapely:

1. every line vertex becomes a node; vertices with identical coordinates are one node
   (lines that cross without sharing a vertex are *not* connected);
2. chains of degree-2 nodes are merged into one edge (osmnx ``simplify_graph``, strict mode);
3. connected components whose longest shortest path is below a minimum length are dropped;
4. control points are injected along long, curved edges (``create_graph_midpoints``);
5. points of the other graph are snapped onto the nearest edge within a distance
   (``insert_control_points``), splitting the edge there or reusing an end node.

Two sets of rules build a graph from lines (``rules``):

- ``"geovision"`` (default): a road segment that two input lines share is one edge, and edge
  lengths are planar lengths in the metric CRS;
- ``"cosmiq"``: as CosmiQ's ``apls.py`` (``_create_gt_graph``) does it: segment lengths are
  great-circle distances on the lon/lat coordinates rounded to the millimetre (osmnx
  ``add_edge_lengths``), and a segment that two lines share is kept twice through simplification
  and then *both* copies are deleted (``create_edge_linestrings(remove_redundant=True)`` removes
  every parallel edge whose geometry repeats another's), which cuts the road there. The
  SpaceNet 3 reference numbers were computed this way: on Vegas img0 these rules rebuild the
  reference's pickled ground-truth graph exactly (71 nodes, 90 edges, 4461.288 m).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

# components with more nodes than this are long enough: skip the all-pairs check (as the reference)
_MAX_NODES_CHECKED = 100
# two cut positions closer than this along one edge are one node (metres)
_SAME_POSITION_M = 1e-9
# osmnx's earth radius for great-circle lengths (metres)
_EARTH_RADIUS_M = 6371009.0

GraphRules = Literal["geovision", "cosmiq"]
GRAPH_RULES: tuple[str, ...] = ("geovision", "cosmiq")


def _lines_of(geometry: BaseGeometry | None) -> list[LineString]:
    """The LineStrings of a (Multi)LineString or collection; other parts are ignored."""
    if geometry is None or geometry.is_empty:
        return []
    if isinstance(geometry, LineString):
        return [geometry]
    if isinstance(geometry, MultiLineString) or hasattr(geometry, "geoms"):
        return [line for part in geometry.geoms for line in _lines_of(part)]
    return []


def great_circle_m(lon_lat: np.ndarray) -> np.ndarray:
    """Haversine lengths (metres) of the segments of an ``(n, 2)`` lon/lat vertex array, rounded
    to the millimetre as osmnx's ``add_edge_lengths`` does."""
    lon, lat = np.deg2rad(np.asarray(lon_lat, dtype=float)).T
    h = np.sin(np.diff(lat) / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2
    return np.round(2 * np.arcsin(np.sqrt(np.minimum(1.0, h))) * _EARTH_RADIUS_M, 3)


def lines_to_graph(
    geometries: Iterable[BaseGeometry | None],
    *,
    keep_duplicates: bool = False,
    lon_lat: Iterable[BaseGeometry | None] | None = None,
) -> nx.MultiGraph:
    """A graph with a node at every vertex and an edge between consecutive vertices.

    A segment repeated by another line is one edge, or, with ``keep_duplicates``, a parallel
    edge per copy (see :func:`drop_duplicate_edges`). ``lon_lat`` gives the same lines in
    longitude/latitude (same vertices, e.g. before projection): edge lengths are then their
    great-circle lengths (:func:`great_circle_m`) instead of planar lengths.
    """
    graph = nx.MultiGraph()
    node_of: dict[tuple[float, float], int] = {}
    seen_segments: set[tuple[int, int]] = set()
    geometries = list(geometries)
    lon_lat = [None] * len(geometries) if lon_lat is None else list(lon_lat)
    if len(lon_lat) != len(geometries):
        raise ValueError(f"{len(geometries)} lines but {len(lon_lat)} lon/lat lines")
    for geometry, geographic in zip(geometries, lon_lat, strict=True):
        lines, geo_lines = _lines_of(geometry), _lines_of(geographic)
        for i, line in enumerate(lines):
            lengths = None
            if geographic is not None:
                if i >= len(geo_lines) or len(geo_lines[i].coords) != len(line.coords):
                    raise ValueError("the lon/lat lines do not have the vertices of the metric lines")
                lengths = great_circle_m(np.asarray(geo_lines[i].coords)[:, :2])
            previous = None
            for j, (x, y) in enumerate(np.asarray(line.coords)[:, :2].tolist()):
                key = (float(x), float(y))
                node = node_of.get(key)
                if node is None:
                    node = node_of[key] = len(node_of)
                    graph.add_node(node, x=key[0], y=key[1])
                if previous is not None and previous != node:
                    segment = (min(previous, node), max(previous, node))
                    if keep_duplicates or segment not in seen_segments:  # one road, unless asked
                        seen_segments.add(segment)
                        a, b = graph.nodes[previous], graph.nodes[node]
                        geom = LineString([(a["x"], a["y"]), (b["x"], b["y"])])
                        length = geom.length if lengths is None else float(lengths[j - 1])
                        graph.add_edge(previous, node, geometry=geom, length=length)
                previous = node
    return graph


def _node_xy(graph: nx.MultiGraph, node: int) -> tuple[float, float]:
    data = graph.nodes[node]
    return data["x"], data["y"]


def _starts_at(graph: nx.MultiGraph, geometry: LineString, node: int, other: int) -> bool:
    """Whether ``geometry`` runs from ``node`` to ``other`` (rather than the reverse)."""
    x0, y0 = geometry.coords[0]
    ux, uy = _node_xy(graph, node)
    vx, vy = _node_xy(graph, other)
    return (x0 - ux) ** 2 + (y0 - uy) ** 2 <= (x0 - vx) ** 2 + (y0 - vy) ** 2


def _coords_from(graph: nx.MultiGraph, u: int, v: int, key: int) -> list[tuple[float, float]]:
    """The edge's coordinates, oriented from ``u`` to ``v``."""
    geometry = graph.edges[u, v, key]["geometry"]
    coords = list(geometry.coords)
    return coords if _starts_at(graph, geometry, u, v) else coords[::-1]


def _is_endpoint(graph: nx.MultiGraph, node: int) -> bool:
    """osmnx's strict rule: self-loops, dead ends and junctions end an edge; degree-2 nodes do not."""
    neighbours = set(graph.neighbors(node))
    return node in neighbours or len(neighbours) != 2 or graph.degree(node) != 2


def simplify_graph(graph: nx.MultiGraph) -> nx.MultiGraph:
    """Merge every chain of degree-2 nodes into one edge between its end nodes.

    Rings made only of degree-2 nodes have no end node and are left as they are (as osmnx does).
    """
    out = graph.copy()
    endpoints = {node for node in graph.nodes if _is_endpoint(graph, node)}
    done: set[tuple[int, int, int]] = set()
    for start in sorted(endpoints):
        for _, first, key in list(graph.edges(start, keys=True)):
            if (start, first, key) in done or first in endpoints:
                continue
            path, coords, length = [start], _coords_from(graph, start, first, key), 0.0
            length += graph.edges[start, first, key]["length"]
            done.update({(start, first, key), (first, start, key)})
            current = first
            while current not in endpoints:
                path.append(current)
                ((nxt, nkey),) = [(n, k) for _, n, k in graph.edges(current, keys=True) if (current, n, k) not in done]
                done.update({(current, nxt, nkey), (nxt, current, nkey)})
                coords += _coords_from(graph, current, nxt, nkey)[1:]
                length += graph.edges[current, nxt, nkey]["length"]
                current = nxt
            out.remove_nodes_from(path[1:])
            out.add_edge(start, current, geometry=LineString(coords), length=length)
    return out


def drop_short_components(graph: nx.MultiGraph, min_length_m: float) -> nx.MultiGraph:
    """Remove connected components whose longest shortest path is shorter than ``min_length_m``."""
    out = graph.copy()
    for nodes in list(nx.connected_components(graph)):
        component = graph.subgraph(nodes)
        total = sum(length for *_, length in component.edges(data="length"))
        if total >= min_length_m and len(nodes) > _MAX_NODES_CHECKED:
            continue
        if total >= min_length_m:
            lengths = nx.all_pairs_dijkstra_path_length(component, weight="length")
            longest = max(max(row.values()) for _, row in lengths)
            if longest >= min_length_m:
                continue
        out.remove_nodes_from(nodes)
    return out


def drop_duplicate_edges(graph: nx.MultiGraph) -> nx.MultiGraph:
    """Remove *every* copy of parallel edges whose geometries are identical (either direction).

    This is what CosmiQ's ``create_edge_linestrings(remove_redundant=True)`` does to a road
    segment that two ground-truth lines share (it flags the second copy twice, once per stored
    orientation of the first, and deletes one edge per flag); it cuts the road at that segment.
    """
    out = graph.copy()
    for u, v in {(min(u, v), max(u, v)) for u, v in graph.edges() if graph.number_of_edges(u, v) > 1}:
        edges = list(graph[u][v].items())
        coords = [tuple(data["geometry"].coords) for _, data in edges]
        for key, own in zip((key for key, _ in edges), coords, strict=True):
            copies = sum(other == own or other == own[::-1] for other in coords)
            if copies > 1:
                out.remove_edge(u, v, key)
    return out


def road_graph(
    geometries: Iterable[BaseGeometry | None],
    *,
    min_subgraph_length_m: float = 5.0,
    rules: GraphRules = "geovision",
    lon_lat: Iterable[BaseGeometry | None] | None = None,
) -> nx.MultiGraph:
    """Lines in a metric CRS -> simplified graph without tiny components.

    ``rules="cosmiq"`` builds it as CosmiQ's ``apls.py`` does (see the module docstring); give
    the same lines in lon/lat as ``lon_lat`` for its great-circle edge lengths.
    """
    if rules not in GRAPH_RULES:
        raise ValueError(f"unknown graph rules {rules!r}: use one of {', '.join(GRAPH_RULES)}")
    cosmiq = rules == "cosmiq"
    graph = simplify_graph(lines_to_graph(geometries, keep_duplicates=cosmiq, lon_lat=lon_lat if cosmiq else None))
    if cosmiq:
        graph = drop_duplicate_edges(graph)
    return drop_short_components(graph, min_subgraph_length_m)


def _next_node_id(graph: nx.MultiGraph) -> int:
    return max(graph.nodes, default=-1) + 1


def _split_edge(graph: nx.MultiGraph, u: int, v: int, key: int, cuts: Sequence[tuple[float, int]]) -> None:
    """Replace an edge by pieces that meet at the (already added) nodes of ``cuts`` (position, node)."""
    data = graph.edges[u, v, key]
    geometry: LineString = data["geometry"]
    start, end = (u, v) if _starts_at(graph, geometry, u, v) else (v, u)
    nodes = [start, *(node for _, node in cuts), end]
    positions = [0.0, *(position for position, _ in cuts), geometry.length]
    graph.remove_edge(u, v, key)
    for a, b, d0, d1 in zip(nodes, nodes[1:], positions, positions[1:], strict=False):
        piece = substring(geometry, d0, d1)
        graph.add_edge(a, b, geometry=piece, length=piece.length)


def inject_midpoints(graph: nx.MultiGraph, *, spacing_m: float = 200.0, curvature_eps: float = 0.12) -> nx.MultiGraph:
    """Add evenly spaced nodes on long curved edges (APLS ``create_graph_midpoints``).

    An edge gets nodes when it is curved (``|bbox diagonal - length| / length >= curvature_eps``;
    a negative eps means always) and at least ``0.75 * spacing_m`` long: one node in its
    middle up to ``spacing_m``, else nodes splitting it into equal parts no longer than ``spacing_m``.
    As in the reference, ``length`` is the edge's ``length`` attribute (which may differ a little
    from its geometry's planar length, e.g. great-circle lengths) and nodes are placed along the
    geometry at those distances.
    """
    out = graph.copy()
    next_id = _next_node_id(graph)
    for u, v, key, data in list(graph.edges(keys=True, data=True)):
        geometry: LineString = data["geometry"]
        length = float(data.get("length", geometry.length))
        if length <= 0 or geometry.length <= 0:
            continue
        xmin, ymin, xmax, ymax = geometry.bounds
        diagonal = float(np.hypot(xmax - xmin, ymax - ymin))
        if abs(diagonal - length) / length < curvature_eps or length < 0.75 * spacing_m:
            continue
        if length <= spacing_m:
            positions = [0.5 * geometry.length]
        else:
            count = len(np.arange(0.0, length, spacing_m)) + 1
            positions = list(np.linspace(0.0, length, count)[1:-1])
        cuts = []
        for position in positions:
            if not 0.0 < position < geometry.length:
                continue
            point = geometry.interpolate(position)
            out.add_node(next_id, x=point.x, y=point.y)
            cuts.append((float(position), next_id))
            next_id += 1
        if cuts:
            _split_edge(out, u, v, key, cuts)
    return out


def snap_points(
    graph: nx.MultiGraph, xy: np.ndarray, *, max_distance_m: float
) -> tuple[nx.MultiGraph, list[int | None]]:
    """Insert points onto their nearest edge (APLS ``insert_control_points``).

    Returns a copy of ``graph`` with the points inserted and, for each point, the node it became:
    a new node splitting the edge, the edge's end node when the point projects onto it, or
    ``None`` when no edge lies within ``max_distance_m``. Points landing on the same spot share a node.
    """
    out = graph.copy()
    nodes_of: list[int | None] = [None] * len(xy)
    edges = list(graph.edges(keys=True, data="geometry"))
    if not edges or len(xy) == 0:
        return out, nodes_of
    tree = shapely.STRtree([geometry for *_, geometry in edges])
    points = shapely.points(np.asarray(xy, dtype=float))
    (point_idx, edge_idx), distances = tree.query_nearest(
        points, max_distance=max_distance_m, return_distance=True, all_matches=True
    )
    nearest: dict[int, int] = {}
    for p, e, distance in zip(point_idx.tolist(), edge_idx.tolist(), distances.tolist(), strict=True):
        if distance <= max_distance_m and (p not in nearest or e < nearest[p]):
            nearest[p] = e  # ties: the first edge, as the reference's argmin
    cuts_of: dict[int, list[tuple[float, int]]] = {}
    for p, e in nearest.items():
        u, v, _, geometry = edges[e]
        position = float(geometry.project(points[p]))
        if position <= 0.0 or position >= geometry.length:
            end_at_start = _starts_at(graph, geometry, u, v)
            at_start = position <= 0.0
            nodes_of[p] = (u if end_at_start else v) if at_start else (v if end_at_start else u)
        else:
            cuts_of.setdefault(e, []).append((position, p))
    next_id = _next_node_id(graph)
    for e, cuts in cuts_of.items():
        u, v, key, geometry = edges[e]
        merged: list[tuple[float, int]] = []
        for position, p in sorted(cuts):
            if merged and position - merged[-1][0] <= _SAME_POSITION_M:
                nodes_of[p] = merged[-1][1]
                continue
            point = geometry.interpolate(position)
            out.add_node(next_id, x=point.x, y=point.y)
            merged.append((position, next_id))
            nodes_of[p] = next_id
            next_id += 1
        _split_edge(out, u, v, key, merged)
    return out, nodes_of


def node_xy(graph: nx.MultiGraph) -> tuple[list[int], np.ndarray]:
    """The graph's nodes and an ``(n, 2)`` array of their coordinates."""
    nodes = list(graph.nodes)
    xy = np.array([_node_xy(graph, n) for n in nodes], dtype=float).reshape(-1, 2)
    return nodes, xy

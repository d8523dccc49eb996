"""Road centrelines from a road-mask raster file, window by window (bounded memory).

Each window's core (``plan_windows`` crops: every pixel belongs to exactly one) is read
with a halo, skeletonised and traced in scene pixel coordinates; the traced lines are
clipped to the core box. Pieces are joined across core edges by snapping their ends
(``SNAP_PX``) and ``shapely.line_merge``; the merged lines make a graph (nodes = line
ends) that is pruned and written out like :func:`geovision.vector.skeleton.road_lines`.
Only one window (+ halo) of pixels is in memory at a time; the vectors are whole-scene.
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
from scipy.spatial import cKDTree

from geovision.errors import ConfigError
from geovision.types import PixelWindow
from geovision.vector.skeleton import graph_to_lines, prune_spurs, skeleton_graph
from geovision.vector.units import length_m, metres_per_map_unit

#: line ends closer than this (pixels) are one point when joining pieces across window edges
SNAP_PX = 0.01
#: pixels read around each window: the skeleton near its edges is the whole-scene one
HALO_PX = 128


def road_lines_from_raster(
    path: Any,
    *,
    tau: float = 0.5,
    window_px: int = 4096,
    halo_px: int = HALO_PX,
    min_spur_m: float = 0.0,
    simplify_m: float = 0.0,
) -> gpd.GeoDataFrame:
    """Road centrelines (``u``, ``v``, ``geometry``, ``length_m``) of a mask/probability raster file.

    Pixels ``>= tau`` and valid are road. ``halo_px`` extra pixels around each window keep
    the skeleton near the window edges as the whole-scene one (use more than half the
    widest road or blob). ``min_spur_m`` and ``simplify_m`` as in ``road_lines``.
    """
    from geovision.io.raster import open_raster

    if min_spur_m < 0 or simplify_m < 0:
        raise ConfigError("min_spur_m and simplify_m must be >= 0", fix="pass non-negative lengths in metres")
    if halo_px < 0:
        raise ConfigError(f"halo_px must be >= 0, got {halo_px}", fix="use e.g. halo_px=128")
    with open_raster(path, bands=[1]) as raster:
        pieces = _traced_pieces(raster, tau=tau, window_px=window_px, halo_px=halo_px)
        transform, crs = raster.transform, raster.crs
    return lines_from_pieces(pieces, transform, crs, min_spur_m=min_spur_m, simplify_m=simplify_m)


def lines_from_pieces(
    pieces: np.ndarray, transform: Affine, crs: Any, *, min_spur_m: float = 0.0, simplify_m: float = 0.0
) -> gpd.GeoDataFrame:
    """Road centrelines (``u``, ``v``, ``geometry``, ``length_m``) of the traced pieces of every window."""
    lines = _merge_pieces(pieces)
    lines = shapely.transform(lines, lambda xy: np.column_stack(transform @ (xy[:, 0], xy[:, 1])))
    metres_per_unit = metres_per_map_unit(transform, crs)
    graph = prune_spurs(lines_graph(lines), min_spur_m / metres_per_unit)
    out = graph_to_lines(graph, crs)
    if simplify_m > 0 and len(out):
        out["geometry"] = out.geometry.simplify(simplify_m / metres_per_unit, preserve_topology=False)
        out["length_m"] = length_m(out)
    return out


def _traced_pieces(raster: Any, *, tau: float, window_px: int, halo_px: int) -> np.ndarray:
    """Traced centrelines of every window, clipped to its core, in scene pixel coordinates."""
    from geovision.io.windows import clip_window, plan_windows

    pieces: list[np.ndarray] = []
    for chip in plan_windows(raster.width, raster.height, chip_px=window_px):
        core = chip.crop
        halo = PixelWindow(
            core.col_off - halo_px, core.row_off - halo_px, core.width + 2 * halo_px, core.height + 2 * halo_px
        )
        clipped = clip_window(halo, raster.width, raster.height)  # outside the raster is no road anyway
        if clipped is None:  # never: the halo holds its core, which is inside the raster
            continue
        read = clipped[0]
        data, valid = raster.read(read)
        pieces.append(trace_window((data[0] >= tau) & valid, read, core))
    return np.concatenate(pieces) if pieces else np.empty(0, dtype=object)


def trace_window(mask: np.ndarray, read: PixelWindow, core: PixelWindow) -> np.ndarray:
    """The traced centreline pieces of a road ``mask`` read over ``read``, clipped to ``core``, in scene pixels."""
    if not mask.any():
        return np.empty(0, dtype=object)
    graph = skeleton_graph(mask, transform=Affine.translation(read.col_off, read.row_off))
    geoms = np.array([d["geometry"] for _, _, d in graph.edges(data=True)], dtype=object)
    return _clip(geoms, core) if geoms.size else geoms


def _clip(geoms: np.ndarray, core: PixelWindow) -> np.ndarray:
    """The LineString parts of ``geoms`` inside the core box (closed), zero-length bits dropped."""
    box = shapely.box(core.col_off, core.row_off, core.col_off + core.width, core.row_off + core.height)
    inside = shapely.contains_properly(box, geoms)
    clipped = shapely.get_parts(shapely.intersection(geoms[~inside], box))
    clipped = clipped[(shapely.get_type_id(clipped) == 1) & (shapely.length(clipped) > 0)]
    return np.concatenate([geoms[inside], clipped])


def _merge_pieces(pieces: np.ndarray) -> np.ndarray:
    """Snap piece ends together (``SNAP_PX``), drop duplicates, and merge through degree-2 points."""
    if pieces.size == 0:
        return pieces
    coords, index = shapely.get_coordinates(pieces, return_index=True)
    first = np.r_[0, np.flatnonzero(np.diff(index)) + 1]
    last = np.r_[first[1:], index.size] - 1
    ends = np.r_[first, last]
    pairs = cKDTree(coords[ends]).query_pairs(SNAP_PX, output_type="ndarray")
    if len(pairs):
        n = ends.size
        link = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        _, label = csgraph.connected_components(link, directed=False)
        _, representative = np.unique(label, return_index=True)
        coords[ends] = coords[ends[representative[label]]]
    snapped = shapely.linestrings(coords, indices=index)
    _, unique = np.unique(shapely.to_wkb(shapely.normalize(snapped)), return_index=True)
    merged = shapely.line_merge(shapely.multilinestrings(snapped[np.sort(unique)]))
    return shapely.get_parts(merged)


def lines_graph(lines: np.ndarray) -> nx.MultiGraph:
    """Graph of LineStrings in ``skeleton_graph``'s format: nodes (``x``, ``y``) at line ends, edge ``geometry``."""
    graph = nx.MultiGraph()
    if len(lines) == 0:
        return graph
    starts = shapely.get_coordinates(shapely.get_point(lines, 0))
    stops = shapely.get_coordinates(shapely.get_point(lines, -1))
    points, node = np.unique(np.r_[starts, stops], axis=0, return_inverse=True)
    node = node.ravel()
    for i, (x, y) in enumerate(points):
        graph.add_node(i, x=float(x), y=float(y))
    n = len(lines)
    for line, u, v in zip(lines, node[:n], node[n:], strict=True):
        graph.add_edge(int(u), int(v), geometry=line)
    return graph

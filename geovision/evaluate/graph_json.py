"""Road graphs stored as plain JSON, as APLS inputs.

The format is the one the SpaceNet 3 / CosmiQ ``apls`` graphs are exported to (and networkx's
node-link JSON): one object with

- ``nodes``: ``[{"id": ..., "x": ..., "y": ...}, ...]``, coordinates in a metric CRS;
- ``edges`` (or node-link's ``links``): ``[{"u": ..., "v": ..., "key": 0, "length": metres,
  "geometry": GeoJSON LineString or WKT}, ...]`` (node-link's ``source``/``target`` work too).
  An edge without a geometry (or with ``"coordinates": null``) is the straight line between its
  nodes; an edge without a ``length`` gets its geometry's length;
- optionally ``graph.crs`` (a PROJ dict such as osmnx's ``{"proj": "utm", "zone": 11, ...}``,
  or ``"EPSG:32611"``) and ``directed`` (a directed graph is made undirected as networkx's
  ``to_undirected`` does: ``u->v`` and ``v->u`` with one key are one road).

Other node and edge fields (pixel coordinates, lat/lon, speeds) are ignored: APLS uses ``x``/``y``,
``geometry`` and ``length``, and keeps ``length`` as given (CosmiQ's graphs carry great-circle
lengths that differ slightly from their projected geometry), as the reference does.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import shapely
from shapely.geometry import LineString, shape

from geovision.errors import CorruptFileError, GeoreferenceError

if TYPE_CHECKING:
    from pyproj import CRS

# a file is taken for a graph when its top level has these keys (GeoJSON never has both)
_NODE_KEY = "nodes"
_EDGE_KEYS = ("edges", "links")


@dataclass(frozen=True)
class RoadGraphFile:
    """A road graph read from JSON: the undirected graph and the CRS of its coordinates (or None)."""

    graph: nx.MultiGraph
    crs: CRS | None
    path: Path

    @property
    def name(self) -> str:
        """The file's name without ``.json`` / ``.graph.json``: the image it describes."""
        name = self.path.name
        for suffix in (".json", ".graph"):
            name = name.removesuffix(suffix)
        return name


def is_graph_json(path: str | Path) -> bool:
    """Whether ``path`` is a JSON road graph (``nodes`` + ``edges``/``links``), not GeoJSON."""
    path = Path(path)
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False  # read_vectors reports what is wrong with it
    return isinstance(data, dict) and _NODE_KEY in data and any(k in data for k in _EDGE_KEYS)


def _node_id(value: Any, path: Path) -> int | str:
    if isinstance(value, bool) or value is None:
        raise CorruptFileError(
            f"node id {value!r} is not a number or a string", path=path, fix="give every node an integer or string 'id'"
        )
    if isinstance(value, float):
        if not value.is_integer():
            raise CorruptFileError(
                f"node id {value!r} is not an integer", path=path, fix="give every node an integer or string 'id'"
            )
        return int(value)
    return value


def _number(value: Any, what: str, path: Path) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise CorruptFileError(
            f"{what} is {value!r}, not a finite number",
            path=path,
            fix="write node coordinates and edge lengths as numbers",
        )
    return number


def _edge_geometry(raw: Any, ends: tuple[tuple[float, float], tuple[float, float]], path: Path) -> LineString:
    if raw is None or (isinstance(raw, dict) and raw.get("coordinates") is None):
        return LineString(ends)
    try:
        geometry = shapely.from_wkt(raw) if isinstance(raw, str) else shape(raw)
    except (shapely.errors.GEOSException, ValueError, TypeError, KeyError, AttributeError) as error:
        raise CorruptFileError(
            f"an edge geometry cannot be read ({error})",
            path=path,
            fix="give edge geometries as GeoJSON LineStrings or WKT",
        ) from error
    if not isinstance(geometry, LineString) or geometry.is_empty:
        raise CorruptFileError(
            f"an edge geometry is a {geometry.geom_type}, not a LineString",
            path=path,
            fix="give edge geometries as GeoJSON LineStrings or WKT",
        )
    return geometry


def _crs_of(data: dict, path: Path) -> CRS | None:
    attributes = data.get("graph")
    raw = attributes.get("crs") if isinstance(attributes, dict) else None
    if raw is None:
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(raw)
    except CRSError as error:
        raise GeoreferenceError(
            f"graph.crs {raw!r} is not a CRS ({error})", path=path, fix="write graph.crs as an EPSG code or a PROJ dict"
        ) from error
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise GeoreferenceError(
            f"the graph's CRS ({crs.name}) is not in metres",
            path=path,
            fix="project the graph to UTM (osmnx project_graph) before exporting it",
        )
    return crs


def read_graph_json(path: str | Path) -> RoadGraphFile:
    """The road graph in a JSON file (see the module docstring), as an undirected MultiGraph with
    node ``x``/``y`` and edge ``geometry``/``length``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptFileError(
            f"cannot read the road graph ({error})", path=path, fix="give a JSON file with 'nodes' and 'edges'"
        ) from error
    edge_key = next((k for k in _EDGE_KEYS if isinstance(data, dict) and k in data), None)
    if (
        not isinstance(data, dict)
        or edge_key is None
        or not isinstance(data.get(_NODE_KEY), list)
        or not isinstance(data[edge_key], list)
    ):
        raise CorruptFileError(
            "not a road graph: no 'nodes' and 'edges' lists",
            path=path,
            fix="give a JSON graph export (nodes with x/y, edges with u/v)",
        )
    crs = _crs_of(data, path)
    graph = nx.MultiDiGraph() if data.get("directed") else nx.MultiGraph()
    for node in data[_NODE_KEY]:
        if not isinstance(node, dict) or "id" not in node or "x" not in node or "y" not in node:
            raise CorruptFileError(
                "a node lacks 'id', 'x' or 'y'", path=path, fix="give every node an id and metric x/y coordinates"
            )
        graph.add_node(
            _node_id(node["id"], path),
            x=_number(node["x"], "a node's x", path),
            y=_number(node["y"], "a node's y", path),
        )
    for edge in data[edge_key]:
        if not isinstance(edge, dict):
            raise CorruptFileError("an edge is not an object", path=path, fix="give edges as objects with u and v")
        u, v = (_node_id(edge.get(a, edge.get(b)), path) for a, b in (("u", "source"), ("v", "target")))
        if u not in graph or v not in graph:
            raise CorruptFileError(
                f"edge {u!r}-{v!r} names a node that is not in 'nodes'", path=path, fix="list every node an edge uses"
            )
        ends = ((graph.nodes[u]["x"], graph.nodes[u]["y"]), (graph.nodes[v]["x"], graph.nodes[v]["y"]))
        geometry = _edge_geometry(edge.get("geometry"), ends, path)
        length = geometry.length if edge.get("length") is None else _number(edge["length"], "an edge length", path)
        if length < 0:
            raise CorruptFileError(
                f"edge {u!r}-{v!r} has a negative length", path=path, fix="write edge lengths in metres"
            )
        key = edge.get("key")
        graph.add_edge(
            u,
            v,
            key=key if isinstance(key, int) and not isinstance(key, bool) else None,
            geometry=geometry,
            length=length,
        )
    if graph.is_directed():
        graph = graph.to_undirected()
    if any(not isinstance(n, int) for n in graph.nodes):
        graph = nx.convert_node_labels_to_integers(graph, label_attribute="id")
    return RoadGraphFile(graph=graph, crs=crs, path=path)

"""Road graphs read from JSON exports (CosmiQ/osmnx and networkx node-link style)."""

from __future__ import annotations

import json

import pytest

from geovision.errors import CorruptFileError, GeoreferenceError
from geovision.evaluate.graph_json import is_graph_json, read_graph_json

UTM_11N = {"datum": "WGS84", "ellps": "WGS84", "proj": "utm", "zone": 11, "units": "m"}


def _write(path, data) -> object:
    path.write_text(json.dumps(data))
    return path


def test_osmnx_style_export(tmp_path):
    path = _write(
        tmp_path / "img0.graph.json",
        {
            "graph": {"crs": UTM_11N},
            "nodes": [{"id": 1, "x": 0.0, "y": 0.0}, {"id": 2, "x": 100.0, "y": 0.0}, {"id": 3, "x": 100.0, "y": 50.0}],
            "edges": [
                {
                    "u": 1,
                    "v": 2.0,
                    "key": 0,
                    "length": 100.5,  # float ids and lengths kept as given
                    "geometry": {"type": "LineString", "coordinates": [[0, 0], [50, 10], [100, 0]]},
                },
                {"u": 2, "v": 3, "key": 0, "geometry": {"type": "LineString", "coordinates": None}},
            ],
        },
    )
    assert is_graph_json(path)
    read = read_graph_json(path)
    assert read.name == "img0" and read.crs.to_epsg() == 32611
    graph = read.graph
    assert not graph.is_directed() and sorted(graph.nodes) == [1, 2, 3]
    assert graph.edges[1, 2, 0]["length"] == 100.5
    assert len(graph.edges[1, 2, 0]["geometry"].coords) == 3
    # no coordinates: the straight line between the nodes, and its length
    assert graph.edges[2, 3, 0]["length"] == pytest.approx(50.0)


def test_node_link_style_directed_with_string_ids_and_wkt(tmp_path):
    path = _write(
        tmp_path / "g.json",
        {
            "directed": True,
            "graph": {"crs": "EPSG:32611"},
            "nodes": [{"id": "a", "x": 0, "y": 0}, {"id": "b", "x": 10, "y": 0}],
            "links": [
                {"source": "a", "target": "b", "key": 0, "geometry": "LINESTRING (0 0, 10 0)"},
                {"source": "b", "target": "a", "key": 0, "geometry": "LINESTRING (10 0, 0 0)"},
            ],
        },
    )
    graph = read_graph_json(path).graph
    assert graph.number_of_edges() == 1  # a->b and b->a are one road
    assert sorted(graph.nodes) == [0, 1] and {d["id"] for _, d in graph.nodes(data=True)} == {"a", "b"}


def test_geojson_is_not_a_graph(tmp_path):
    path = _write(tmp_path / "roads.json", {"type": "FeatureCollection", "features": []})
    assert not is_graph_json(path)
    assert not is_graph_json(tmp_path / "missing.json")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"nodes": [{"id": 1, "x": 0}], "edges": []}, "lacks 'id', 'x' or 'y'"),
        ({"nodes": [{"id": 1, "x": 0, "y": 0}], "edges": [{"u": 1, "v": 2}]}, "not in 'nodes'"),
        (
            {
                "nodes": [{"id": 1, "x": 0, "y": 0}, {"id": 2, "x": 1, "y": 0}],
                "edges": [{"u": 1, "v": 2, "length": "long"}],
            },
            "not a finite number",
        ),
        (
            {
                "nodes": [{"id": 1, "x": 0, "y": 0}, {"id": 2, "x": 1, "y": 0}],
                "edges": [{"u": 1, "v": 2, "geometry": {"type": "Point", "coordinates": [0, 0]}}],
            },
            "not a LineString",
        ),
    ],
)
def test_corrupt_graphs_name_the_file(tmp_path, data, message):
    path = _write(tmp_path / "bad.json", data)
    with pytest.raises(CorruptFileError, match=message) as error:
        read_graph_json(path)
    assert error.value.path == str(path) and error.value.fix


def test_graph_in_degrees_is_refused(tmp_path):
    path = _write(tmp_path / "ll.json", {"graph": {"crs": "EPSG:4326"}, "nodes": [], "edges": []})
    with pytest.raises(GeoreferenceError, match="not in metres"):
        read_graph_json(path)


@pytest.mark.realdata
def test_spacenet2_paris_proposal_graph(shared_data):
    """A real export whose edges have no coordinates (straight lines) and a NAD83 UTM 31N CRS."""
    read = read_graph_json(shared_data / "spacenet2_paris_osm_roads" / "proposal_graph_1447.graph.json")
    assert (read.graph.number_of_nodes(), read.graph.number_of_edges()) == (35, 43)
    assert read.crs.is_projected and "+zone=31" in read.crs.srs
    assert all(len(g.coords) == 2 for *_, g in read.graph.edges(data="geometry"))

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from geovision.errors import ConfigError, CorruptFileError, GeoreferenceError, MissingFileError, OutputExistsError
from geovision.io.vectors import list_layers, read_vectors, write_vectors
from tests.rasters import ORIGIN

X0, Y0 = ORIGIN


@pytest.fixture()
def buildings() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [1, 2], "damage": ["destroyed", None]},
        geometry=[box(X0, Y0 - 10, X0 + 8, Y0), box(X0 + 20, Y0 - 30, X0 + 35, Y0 - 12)],
        crs="EPSG:32615",
    )


def test_geopackage_round_trip_with_several_layers(tmp_path, buildings):
    path = tmp_path / "out.gpkg"
    write_vectors(buildings, path, layer="buildings")
    roads = gpd.GeoDataFrame({"lanes": [2]}, geometry=[LineString([(X0, Y0), (X0 + 50, Y0 - 50)])], crs=32615)
    write_vectors(roads, path, layer="roads", append_layer=True)
    assert list_layers(path) == ["buildings", "roads"]
    back = read_vectors(path, layer="buildings")
    assert back.crs.to_epsg() == 32615
    assert back["damage"][0] == "destroyed" and back["damage"].isna().tolist() == [False, True]
    assert back.geometry.geom_equals(buildings.geometry).all()
    assert read_vectors(path, layer="roads")["lanes"].tolist() == [2]


def test_appending_an_existing_layer_needs_overwrite(tmp_path, buildings):
    path = write_vectors(buildings, tmp_path / "out.gpkg", layer="buildings")
    before = path.read_bytes()
    with pytest.raises(OutputExistsError, match="out.gpkg.*'buildings'"):
        write_vectors(buildings.iloc[:1], path, layer="buildings", append_layer=True)
    assert path.read_bytes() == before
    write_vectors(buildings.iloc[:1], path, layer="buildings", append_layer=True, overwrite=True)
    assert len(read_vectors(path)) == 1
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_vectors(buildings, path)


def test_geojson_is_rfc7946_in_lonlat(tmp_path, buildings):
    path = write_vectors(buildings, tmp_path / "out.geojson")
    document = json.loads(path.read_text())
    assert "crs" not in document  # RFC 7946: always WGS 84 lon/lat, no crs member
    lon, lat = document["features"][0]["geometry"]["coordinates"][0][0]
    assert -95 < lon < -94 and 37 < lat < 38
    back = read_vectors(path)
    assert back.crs.to_epsg() == 4326
    assert back.to_crs(32615).geometry.area.round(1).tolist() == buildings.geometry.area.round(1).tolist()


def test_extra_geometry_columns_become_wkt(tmp_path, buildings):
    buildings["centre"] = [Point(X0, Y0), Point(X0 + 1, Y0)]
    back = read_vectors(write_vectors(buildings, tmp_path / "out.gpkg"))
    assert back["centre"].tolist() == ["POINT (365800 4103200)", "POINT (365801 4103200)"]


def test_empty_layer_round_trip(tmp_path, buildings):
    back = read_vectors(write_vectors(buildings.iloc[:0], tmp_path / "empty.gpkg"))
    assert len(back) == 0 and back.crs.to_epsg() == 32615


def test_read_errors(tmp_path, buildings):
    with pytest.raises(MissingFileError, match="nope.gpkg"):
        read_vectors(tmp_path / "nope.gpkg")
    (tmp_path / "empty.geojson").write_text("")
    with pytest.raises(CorruptFileError, match="empty.geojson.*0 bytes"):
        read_vectors(tmp_path / "empty.geojson")
    (tmp_path / "cut.geojson").write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(CorruptFileError, match="cut.geojson.*not a readable vector"):
        read_vectors(tmp_path / "cut.geojson")
    path = write_vectors(buildings, tmp_path / "b.gpkg")
    with pytest.raises(ConfigError, match="'roads' not found.*layers: b"):
        read_vectors(path, layer="roads")
    buildings.set_crs(None, allow_override=True).to_file(tmp_path / "nocrs.gpkg")
    with pytest.raises(GeoreferenceError, match="nocrs.gpkg.*no CRS"):
        read_vectors(tmp_path / "nocrs.gpkg")


def test_write_errors(tmp_path, buildings):
    with pytest.raises(ConfigError, match=r"\.shp"):
        write_vectors(buildings, tmp_path / "out.shp")
    with pytest.raises(GeoreferenceError, match="without a CRS"):
        write_vectors(buildings.set_crs(None, allow_override=True), tmp_path / "out.gpkg")
    with pytest.raises(ConfigError, match="one layer"):
        write_vectors(buildings, tmp_path / "out.geojson", append_layer=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.realdata
def test_real_spacenet_roads(shared_data):
    path = (
        shared_data
        / "spacenet3_vegas_roads_apls"
        / "gt_json_prop_wkt"
        / "ground_truth_randomized"
        / "AOI_2_Vegas_img0.geojson"
    )
    roads = read_vectors(path)
    assert roads.crs.to_epsg() == 4326 and len(roads) > 0 and set(roads.geom_type) == {"LineString"}

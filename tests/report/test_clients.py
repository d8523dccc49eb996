"""Every output of a run checked by clients no one here wrote: rio-cogeo, RFC 7946 rules, pystac (offline)."""

from __future__ import annotations

import json
from pathlib import Path

import pystac
import pytest
import shapely.geometry

from geovision.io.cog import cog_problems
from geovision.report.stac import validate_catalog


@pytest.fixture(params=["full_run", "demo_run"])
def run_dir(request) -> Path:
    return request.getfixturevalue(request.param)


def test_every_raster_output_is_a_valid_cog(run_dir):
    tifs = sorted(run_dir.rglob("*.tif"))
    assert tifs
    for tif in tifs:
        assert cog_problems(tif) == [], tif


def _positions(geometry: dict):
    coordinates = geometry["coordinates"]
    depth = {"Point": 0, "LineString": 1, "Polygon": 2, "MultiLineString": 2, "MultiPolygon": 3}[geometry["type"]]
    stack = [(coordinates, depth)]
    while stack:
        value, level = stack.pop()
        if level == 0:
            yield value
        else:
            stack.extend((v, level - 1) for v in value)


def test_every_geojson_follows_rfc7946(run_dir):
    for path in sorted(run_dir.rglob("*.geojson")):
        document = json.loads(path.read_text())
        assert document["type"] == "FeatureCollection" and "crs" not in document, path  # WGS 84 only (s. 4)
        for feature in document["features"]:
            assert feature["type"] == "Feature" and isinstance(feature["properties"], dict)
            geometry = feature["geometry"]
            for position in _positions(geometry):
                assert -180 <= position[0] <= 180 and -90 <= position[1] <= 90, path
                assert all(len(str(v).split(".")[-1]) <= 7 for v in position[:2])  # 7 decimals (s. 11.2)
            shape = shapely.geometry.shape(geometry)
            assert shape.is_valid, path
            for polygon in getattr(shape, "geoms", [shape]):
                if polygon.geom_type == "Polygon":  # right-hand rule: exterior counter-clockwise (s. 3.1.6)
                    assert polygon.exterior.is_ccw and not any(ring.is_ccw for ring in polygon.interiors), path
            for value in feature["properties"].values():
                if isinstance(value, float):
                    assert float(f"{value:.7g}") == value, (path, value)  # rounded, not 17-digit floats


def test_stac_validates_offline_with_inputs_licence_and_raster_bands(run_dir):
    assert validate_catalog(run_dir / "stac" / "catalog.json") == 1
    item_path = next((run_dir / "stac").glob("*/*.json"))
    item = pystac.Item.from_file(str(item_path))
    derived = [link for link in item.links if link.rel == "derived_from"]
    assert {link.title for link in derived} >= {"pre-event image", "post-event image"}
    licence = next(link for link in item.links if link.rel == "license")
    assert (item_path.parent / licence.href).exists()
    probabilities = [a for key, a in item.assets.items() if key.endswith("_prob.tif")]
    for asset in item.assets.values():
        if asset.media_type == pystac.MediaType.COG:
            assert asset.extra_fields["raster:bands"], asset.href
    if run_dir.name == "demo":
        band = probabilities[0].extra_fields["raster:bands"][0]
        assert band["scale"] == pytest.approx(1 / 254) and band["nodata"] == 255
        assert "probability" in band["description"]

import json
import sqlite3
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio

from geovision.io.cog import cog_problems
from geovision.report import package, styles

LAYERS = ["buildings", "roads", "grid", "admin_units", "reference_grid"]


def _record(run_dir):
    return json.loads((run_dir / "run.json").read_text())


def test_geopackage_has_every_layer_with_the_stage_outputs(full_run):
    gpkg = full_run / "geovision.gpkg"
    layers = [name for name, _ in pyogrio.list_layers(gpkg) if name != "layer_styles"]
    assert layers == LAYERS
    record = _record(full_run)
    buildings = gpd.read_file(gpkg, layer="buildings")
    source = gpd.read_file(record["stages"]["vectorize"]["outputs"]["buildings_gpkg"])
    assert len(buildings) == len(source) == record["stages"]["vectorize"]["figures"]["buildings_before"]
    assert int(buildings["lost"].sum()) == record["stages"]["vectorize"]["figures"]["buildings_lost"]
    roads = gpd.read_file(gpkg, layer="roads")
    assert "lost_fraction" in roads and roads.geom_type.isin(["LineString", "MultiLineString"]).all()
    grid = gpd.read_file(gpkg, layer="grid")
    for column in ("dii", "impacted", "persons", "persons_impacted", "roads_dii", "roads_road_lost_m"):
        assert column in grid, column
    assert grid["roads_road_lost_m"].sum() == pytest.approx(record["stages"]["impact_roads"]["figures"]["road_lost_m"])
    assert grid["persons_impacted"].sum() == pytest.approx(
        record["stages"]["impact_buildings"]["figures"]["population"]["persons_impacted"])
    assert len(gpd.read_file(gpkg, layer="reference_grid")) > 0


def test_admin_units_carry_the_affected_population_of_their_zone(full_run):
    record = _record(full_run)
    units = gpd.read_file(full_run / "geovision.gpkg", layer="admin_units")
    table = pd.read_csv(record["stages"]["impact_buildings"]["outputs"]["affected_by_unit"])
    census = gpd.read_file(record["inputs"]["census"])
    assert len(units) == len(census) and units.crs == census.crs
    merged = units.set_index("zone").join(table.set_index("zone"))
    np.testing.assert_allclose(merged["affected_persons_impacted"], merged["persons_impacted"])
    assert units["affected_persons_impacted"].sum() == pytest.approx(
        record["stages"]["impact_buildings"]["figures"]["population"]["persons_impacted"])


def test_styles_are_stored_in_the_geopackage_and_fit_the_layers(full_run):
    gpkg = full_run / "geovision.gpkg"
    with sqlite3.connect(gpkg) as db:
        rows = db.execute("SELECT f_table_name, f_geometry_column, styleQML, useAsDefault FROM layer_styles").fetchall()
    assert sorted(r[0] for r in rows) == sorted(LAYERS)
    for layer, geometry_column, qml, default in rows:
        assert default == 1 and geometry_column == "geom"
        renderer = ET.fromstring(qml).find("renderer-v2")
        assert renderer.get("attr") in gpd.read_file(gpkg, layer=layer).columns
        assert len(renderer.find("symbols")) >= 2
        assert (full_run / "gis" / f"{layer}.qml").read_text() == qml


def test_geojson_copies_are_rfc7946(full_run):
    for layer in LAYERS:
        path = full_run / "gis" / f"{layer}.geojson"
        document = json.loads(path.read_text())
        assert document["type"] == "FeatureCollection" and "crs" not in document
        assert len(document["features"]) == len(gpd.read_file(full_run / "geovision.gpkg", layer=layer))
        x, y = document["features"][0]["geometry"]["coordinates"][0][0][:2] if layer != "roads" else \
            document["features"][0]["geometry"]["coordinates"][0][:2]
        assert -180 <= x <= 180 and -90 <= y <= 90


def test_every_cog_is_valid_and_has_a_qgis_style(full_run):
    tifs = sorted(full_run.glob("*/*.tif"))
    assert {t.parent.name for t in tifs} == {"masks", "impact", "reference"}
    for tif in tifs:
        assert cog_problems(tif) == [], tif
        style = ET.fromstring(tif.with_suffix(".qml").read_text()).find("pipe/rasterrenderer")
        band = int(style.get("band"))
        with rasterio.open(tif) as src:
            assert 1 <= band <= src.count
            if tif.parent.name != "masks":
                assert src.descriptions[band - 1] == "dii"


def test_reference_only_run_packages_what_exists(reference_run):
    layers = [name for name, _ in pyogrio.list_layers(reference_run / "geovision.gpkg")]
    assert layers == ["reference_grid", "layer_styles"]
    assert not (reference_run / "gis" / "buildings.geojson").exists()


def test_population_style_breaks_cover_the_values():
    values = np.array([0.0, 3.0, 10.0, 50.0, np.nan])
    ranges = ET.fromstring(styles.population_style(values, "persons")).findall("renderer-v2/ranges/range")
    assert float(ranges[0].get("lower")) == 0.0 and float(ranges[-1].get("upper")) > 50.0
    assert all(float(a.get("upper")) == float(b.get("lower")) for a, b in zip(ranges, ranges[1:]))
    empty = ET.fromstring(styles.population_style(np.array([]), "persons")).findall("renderer-v2/ranges/range")
    assert len(empty) == 1


def test_raster_style_rejects_unknown_kind():
    with pytest.raises(ValueError, match="unknown raster style"):
        styles.raster_style(1, "elevation")


def test_stage_output_needs_a_done_stage_and_an_existing_file(tmp_path):
    existing = tmp_path / "a.gpkg"
    existing.write_text("x")
    record = {"stages": {"s": {"status": "done", "outputs": {"a": str(existing), "b": str(tmp_path / "b")}},
                         "t": {"status": "skipped", "outputs": {"a": str(existing)}}}}
    assert package.stage_output(record, "s", "a") == existing
    assert package.stage_output(record, "s", "b") is None
    assert package.stage_output(record, "t", "a") is None
    assert package.stage_output(record, "u", "a") is None

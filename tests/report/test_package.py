import json
import re
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
from geovision.runrecord import read_run_record

LAYERS = ["buildings", "roads", "grid", "admin_units", "reference_grid"]


def _record(run_dir):
    return read_run_record(run_dir)  # paths resolved against the run folder


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
        record["stages"]["impact_buildings"]["figures"]["population"]["persons_impacted"]
    )
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
        record["stages"]["impact_buildings"]["figures"]["population"]["persons_impacted"]
    )


def _fields(renderer: ET.Element) -> set[str]:
    """The attributes a renderer reads: its ``attr`` or the quoted fields of its rules' filters."""
    if renderer.get("attr"):
        return {renderer.get("attr")}
    return {field for rule in renderer.iter("rule") for field in re.findall(r'"([^"]+)"', rule.get("filter"))}


def test_styles_are_stored_in_the_geopackage_and_fit_the_layers(full_run):
    gpkg = full_run / "geovision.gpkg"
    with sqlite3.connect(gpkg) as db:
        rows = db.execute(
            "SELECT f_table_name, f_geometry_column, styleQML, useAsDefault, update_time FROM layer_styles"
        ).fetchall()
        version = db.execute("PRAGMA user_version").fetchone()[0]
    assert version == 10200  # GeoPackage 1.2: GDAL 3.6 / QGIS 3.22 read it without warnings
    assert sorted(r[0] for r in rows) == sorted(LAYERS)
    for layer, geometry_column, qml, default, update_time in rows:
        assert default == 1 and geometry_column == "geom"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", update_time), update_time
        renderer = ET.fromstring(qml).find("renderer-v2")
        assert _fields(renderer) <= set(gpd.read_file(gpkg, layer=layer).columns)
        assert len(renderer.find("symbols")) >= 2
        assert (full_run / "gis" / f"{layer}.qml").read_text() == qml


def test_boolean_lost_is_categorised_as_qgis_reads_booleans():
    categories = ET.fromstring(styles.lost_buildings_style()).findall("renderer-v2/categories/category")
    assert {c.get("value") for c in categories} == {"true", "false"}


def test_dii_style_has_a_class_for_cells_without_buildings_and_an_open_last_class():
    rules = ET.fromstring(styles.dii_grid_style(0.1)).findall("renderer-v2/rules/rule")
    assert rules[-1].get("filter") == '"dii" IS NULL' and "no buildings" in rules[-1].get("label")
    assert rules[-2].get("label") == "3 and more" and "<" not in rules[-2].get("filter")
    assert "1000000000" not in styles.dii_grid_style(0.1)


def test_geojson_copies_are_rfc7946(full_run):
    for layer in LAYERS:
        path = full_run / "gis" / f"{layer}.geojson"
        document = json.loads(path.read_text())
        assert document["type"] == "FeatureCollection" and "crs" not in document
        assert len(document["features"]) == len(gpd.read_file(full_run / "geovision.gpkg", layer=layer))
        x, y = (
            document["features"][0]["geometry"]["coordinates"][0][0][:2]
            if layer != "roads"
            else document["features"][0]["geometry"]["coordinates"][0][:2]
        )
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


def test_population_style_classes_cover_the_values():
    values = np.array([0.0, 3.0, 10.0, 50.0, np.nan])
    rules = ET.fromstring(styles.population_style(values, "persons")).findall("renderer-v2/rules/rule")
    assert rules[0].get("filter").startswith('"persons" >= 0.0') and rules[-1].get("filter") == '"persons" IS NULL'
    assert " AND " not in rules[-2].get("filter")  # the last range is open-ended: 50 is inside it
    empty = ET.fromstring(styles.population_style(np.array([]), "persons")).findall("renderer-v2/rules/rule")
    assert len(empty) == 2


def test_probability_style_is_in_scaled_units_and_mask_colour_matches_the_palette():
    from geovision.io.cog import MASK_COLORMAP

    items = ET.fromstring(styles.raster_style(1, "probability")).findall(".//item")
    assert [float(i.get("value")) for i in items] == [0.0, 0.5, 1.0]  # QGIS applies the COG's scale 1/254
    present = ET.fromstring(styles.raster_style(1, "mask")).findall(".//item")[-1]
    assert present.get("color") == "#{:02x}{:02x}{:02x}".format(*MASK_COLORMAP[1][:3])


def test_raster_style_rejects_unknown_kind():
    with pytest.raises(ValueError, match="unknown raster style"):
        styles.raster_style(1, "elevation")


def test_stage_output_needs_a_done_stage_and_an_existing_file(tmp_path):
    existing = tmp_path / "a.gpkg"
    existing.write_text("x")
    record = {
        "stages": {
            "s": {"status": "done", "outputs": {"a": str(existing), "b": str(tmp_path / "b")}},
            "t": {"status": "skipped", "outputs": {"a": str(existing)}},
        }
    }
    assert package.stage_output(record, "s", "a") == existing
    assert package.stage_output(record, "s", "b") is None
    assert package.stage_output(record, "t", "a") is None
    assert package.stage_output(record, "u", "a") is None

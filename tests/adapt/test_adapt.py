"""`geovision adapt` on a small synthetic event: a few steps, the better bundle kept, bad labels refused."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from geovision.adapt.labels import read_labels, road_corridors, road_width_m
from geovision.adapt.run import AdaptOptions, _validation_blocks, adapt
from geovision.cli.main import cli
from geovision.models.bundle import load_bundle


def _cli(*args):
    return CliRunner().invoke(cli, ["adapt", *map(str, args)])


def test_adapt_writes_a_bundle_with_its_card_and_both_scores(event, tiny_bundle, tmp_path):
    out = tmp_path / "adapted"
    result = adapt(
        [str(event.pre)],
        [str(event.paths["buildings"]), str(event.paths["roads"])],
        out,
        model=str(tiny_bundle),
        options=AdaptOptions(minutes=0.5, chip_px=128, batch_size=2),
    )
    assert result.steps >= 10 and set(result.tasks) == {"buildings", "roads"}
    record = json.loads((out / "adapt.json").read_text())
    assert record["adapted"] == result.adapted and record["steps"] == result.steps
    assert set(record["before"]) == {"buildings_iou", "roads_iou", "buildings_object_f1", "score"}
    for scores in (record["before"], record["after"]):
        building = (scores["buildings_iou"] + scores["buildings_object_f1"]) / 2
        assert scores["score"] == pytest.approx((building + scores["roads_iou"]) / 2)
    assert (record["after"]["score"] > record["before"]["score"]) == result.adapted
    card = (out / "MODEL_CARD.md").read_text()
    assert "tiny" in card and "held-out blocks" in card and "unknown (state it with --licence)" in card
    load_bundle(out)  # a working bundle either way (adapted, or the base kept)
    assert not (tmp_path / ".adapted.adapt").exists()  # the work folder is cleaned up


def test_validation_blocks_are_a_quarter_in_whole_blocks():
    held = _validation_blocks(64, 64, 8)
    assert held.mean() == pytest.approx(0.25)
    assert held[:8, :8].all() and not held[:8, 8:16].any()  # whole blocks, never single pixels


def test_osm_style_roads_get_their_width(tmp_path):
    frame = gpd.GeoDataFrame(
        {"highway": ["primary", "service", "footway_link", None], "width": [None, None, None, "4 m"]},
        geometry=[shapely.LineString([(0, 0), (1, 1)])] * 4,
        crs="EPSG:4326",
    )
    np.testing.assert_allclose(road_width_m(frame), [12.0, 5.0, 2.0, 4.0])


def test_road_classes_of_geofabrik_and_imposm_exports_get_their_width():
    lines = [shapely.LineString([(0, 0), (1, 1)])] * 3
    geofabrik = gpd.GeoDataFrame({"fclass": ["motorway", "track", "bogus"]}, geometry=lines, crs="EPSG:4326")
    np.testing.assert_allclose(road_width_m(geofabrik), [16.0, 4.0, 7.0])  # unknown class: the default
    spacenet = gpd.GeoDataFrame(  # SpaceNet's OSM roads: class "highway", the highway value under "type"
        {"class": ["highway"] * 3, "type": ["tertiary", "residential", "primary_link"]}, geometry=lines, crs="EPSG:4326"
    )
    np.testing.assert_allclose(road_width_m(spacenet), [9.0, 7.0, 12.0])
    both = gpd.GeoDataFrame({"highway": ["service", None, None], "type": ["primary", "primary", None]}, geometry=lines)
    np.testing.assert_allclose(road_width_m(both), [5.0, 12.0, 7.0])  # highway first, then the next column


def test_road_corridors_are_buffered_in_metres_even_for_lon_lat_lines():
    line = shapely.LineString([(2.30, 48.85), (2.31, 48.85)])  # about 733 m in Paris
    roads = gpd.GeoDataFrame({"width_m": [8.0]}, geometry=[line], crs="EPSG:4326")
    corridor = road_corridors(roads)
    assert corridor.crs.is_projected
    assert corridor.area.iloc[0] == pytest.approx(8.0 * roads.to_crs(corridor.crs).length.iloc[0], rel=0.01)
    assert corridor.area.iloc[0] == pytest.approx(8.0 * 733, rel=0.02)


def _write(frame: gpd.GeoDataFrame, path):
    frame.to_file(path, driver="GeoJSON")
    return path


def test_bad_labels_are_clear_exit_2_errors(event, tiny_bundle, tmp_path):
    buildings = gpd.read_file(event.paths["buildings"])
    far = _write(buildings.set_geometry(buildings.translate(50_000, 0)), tmp_path / "far.geojson")
    points = _write(buildings.set_geometry(buildings.centroid), tmp_path / "points.geojson")
    few = _write(buildings.iloc[:1].set_geometry(buildings.iloc[:1].centroid.buffer(0.6)), tmp_path / "few.geojson")
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    cases = {
        far: "do not overlap",
        points: "not building polygons or road lines",
        few: "too few labelled pixels",
        empty: "no geometries",
    }
    for path, message in cases.items():
        result = _cli(
            "--pre",
            event.pre,
            "--labels",
            path,
            "--out",
            tmp_path / f"o_{path.stem}",
            "--model",
            tiny_bundle,
            "--minutes",
            1,
        )
        assert result.exit_code == 2, (path.name, result.output)
        assert message in result.output and path.name in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_read_labels_sorts_polygons_and_lines(event):
    labels = read_labels([event.paths["buildings"], event.paths["roads"]])
    assert len(labels.buildings) == 15 and len(labels.roads) == 14 and labels.tasks == ["buildings", "roads"]
    assert (labels.roads["width_m"] > 0).all()


@pytest.mark.slow  # about 3 minutes on 2 cores: an adapt stage and two runs
def test_run_adapt_with_adapts_then_segments_with_it_and_a_rerun_skips_it(event, tiny_bundle, tmp_path):
    """`geovision run --adapt-with`: an adapt stage in run.json, the segment stage on its bundle, reruns resume."""
    out = tmp_path / "run"
    args = [
        "run",
        "--pre",
        event.pre,
        "--post",
        event.post,
        "--out",
        out,
        "--model",
        tiny_bundle,
        "--adapt-with",
        event.paths["buildings"],
        "--adapt-minutes",
        "0.5",
    ]
    first = CliRunner().invoke(cli, list(map(str, args)))
    assert first.exit_code == 0, first.output
    record = json.loads((out / "run.json").read_text())
    stage = record["stages"]["adapt"]
    assert stage["status"] == "done" and stage["figures"]["steps"] >= 10
    assert (out / stage["outputs"]["bundle"] / "adapt.json").exists()
    assert json.loads((out / "model" / "adapt.json").read_text())["base"] == str(tiny_bundle)
    again = CliRunner().invoke(cli, list(map(str, args)))
    assert again.exit_code == 0, again.output
    rerun = json.loads((out / "run.json").read_text())["stages"]
    assert rerun["adapt"]["reason"].startswith("resumed") and rerun["segment"]["reason"].startswith("resumed")
    missing = CliRunner().invoke(cli, list(map(str, args[:-4])) + ["--adapt-with", str(tmp_path / "none.osm")])
    assert missing.exit_code == 2 and "adapt label file does not exist" in missing.output


def test_held_out_keeps_the_footprints_centred_on_held_out_labelled_pixels(tmp_path):
    from rasterio.transform import from_origin

    from geovision.adapt.run import IGNORE, held_out
    from tests.rasters import write_geotiff

    labels = np.full((1, 20, 40), IGNORE, np.uint8)
    labels[0, :, 20:] = 0  # the east half is held out (and labelled)
    path = write_geotiff(tmp_path / "val.tif", labels, transform=from_origin(500000, 4000000, 1, 1), crs="EPSG:32633")
    west, east = shapely.box(500002, 3999990, 500008, 3999996), shapely.box(500025, 3999990, 500031, 3999996)
    straddling = shapely.box(500012, 3999990, 500026, 3999996)  # representative point at x = 500019: west
    frame = gpd.GeoDataFrame({"name": ["west", "east", "straddling"]}, geometry=[west, east, straddling], crs=32633)
    assert held_out(frame.to_crs(4326), path)["name"].tolist() == ["east"]

"""``geovision evaluate`` end to end."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from shapely.geometry import box

from geovision.cli.main import cli
from tests.rasters import write_geotiff


def _invoke(*args):
    return CliRunner().invoke(cli, ["evaluate", *map(str, args)])


@pytest.mark.realdata
def test_roads_on_spacenet_sample_prints_table_and_writes_json(shared_data, tmp_path):
    folder = shared_data / "spacenet3_vegas_roads_apls"
    args = [
        "--task",
        "roads",
        "--pred",
        folder / "gt_json_prop_wkt/proposal/sn3_sample_submission_albu.csv",
        "--truth",
        folder / "gt_json_prop_wkt/ground_truth_randomized/AOI_2_Vegas_img0.geojson",
        "--image",
        folder / "images/RGB-PanSharpen_AOI_2_Vegas_img0.tif",
        "--json-out",
        tmp_path / "r.json",
    ]
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    assert "apls (mean)" in result.output and "0.79" in result.output
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["metrics"]["apls"] == pytest.approx(0.7926, abs=0.002)
    again = _invoke(*args)
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_buildings_vectors_in_two_crs(tmp_path):
    truth = gpd.GeoDataFrame(
        geometry=[box(664500, 4011900, 664510, 4011910), box(664530, 4011900, 664540, 4011910)], crs="EPSG:32611"
    )
    truth.to_file(tmp_path / "truth.gpkg")
    truth.iloc[:1].to_crs("EPSG:4326").to_file(tmp_path / "pred.geojson")
    result = _invoke(
        "--task",
        "buildings",
        "--pred",
        tmp_path / "pred.geojson",
        "--truth",
        tmp_path / "truth.gpkg",
        "--json-out",
        tmp_path / "b.json",
    )
    assert result.exit_code == 0, result.output
    objects = json.loads((tmp_path / "b.json").read_text())["metrics"]["objects"]
    assert (objects["tp"], objects["fp"], objects["fn"]) == (1, 0, 1)
    assert objects["precision"] == 1.0 and objects["recall"] == 0.5


def test_building_masks_in_folders_are_summed(tmp_path):
    for side, shift in (("pred", 0), ("truth", 2)):
        (tmp_path / side).mkdir()
        for name in ("a.tif", "b.tif"):
            mask = np.zeros((10, 10), np.uint8)
            mask[:, shift : shift + 4] = 1
            write_geotiff(tmp_path / side / name, mask, crs="EPSG:32611", res_m=1.0, origin=(600000, 4000000))
    result = _invoke(
        "--task",
        "buildings",
        "--pred",
        tmp_path / "pred",
        "--truth",
        tmp_path / "truth",
        "--json-out",
        tmp_path / "m.json",
    )
    assert result.exit_code == 0, result.output
    pixel = json.loads((tmp_path / "m.json").read_text())["metrics"]["pixel"]
    assert (pixel["tp"], pixel["fp"], pixel["fn"]) == (40, 40, 40)
    assert pixel["iou"] == pytest.approx(1 / 3)


def test_bad_input_exits_2(tmp_path):
    result = _invoke("--task", "buildings", "--pred", tmp_path / "missing.geojson", "--truth", tmp_path / "t.geojson")
    assert result.exit_code == 2 and "Error:" in result.output
    (tmp_path / "a.tif").write_bytes(b"")
    (tmp_path / "b.geojson").write_text("{}")
    mixed = _invoke("--task", "buildings", "--pred", tmp_path / "a.tif", "--truth", tmp_path / "b.geojson")
    assert mixed.exit_code == 2 and "both be rasters or both be vectors" in mixed.output


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_damage_task_on_png_masks(tmp_path):
    truth = np.zeros((8, 8), np.uint8)
    truth[:4, :4], truth[4:, 4:] = 1, 4
    pred = truth.copy()
    pred[4:, 4:6] = 3  # half the destroyed building called major damage (class 3 absent from truth)
    for name, array in (("truth.png", truth), ("pred.png", pred)):
        with rasterio.open(tmp_path / name, "w", driver="PNG", height=8, width=8, count=1, dtype="uint8") as dst:
            dst.write(array, 1)
    result = _invoke(
        "--task",
        "damage",
        "--pred",
        tmp_path / "pred.png",
        "--truth",
        tmp_path / "truth.png",
        "--json-out",
        tmp_path / "d.json",
    )
    assert result.exit_code == 0, result.output
    xview = json.loads((tmp_path / "d.json").read_text())["metrics"]["xview2"]
    assert xview["localization_f1"] == 1.0
    assert xview["damage_f1_destroyed"] == pytest.approx(2 / 3)  # tp 8, fn 8
    assert xview["damage_f1_major_damage"] == 0.0


def test_dii_task_with_vector_grids(tmp_path):
    cells = [box(600000 + 100 * i, 4000000, 600100 + 100 * i, 4000100) for i in range(4)]
    gpd.GeoDataFrame({"dii": [0.5, 3.0, 2.0, 0.0]}, geometry=cells, crs="EPSG:32611").to_file(tmp_path / "p.gpkg")
    gpd.GeoDataFrame({"dii": [0.0, 4.0, 0.1, 2.5]}, geometry=cells, crs="EPSG:32611").to_file(tmp_path / "t.gpkg")
    result = _invoke(
        "--task",
        "dii",
        "--pred",
        tmp_path / "p.gpkg",
        "--truth",
        tmp_path / "t.gpkg",
        "--threshold",
        "1.5",
        "--json-out",
        tmp_path / "g.json",
    )
    assert result.exit_code == 0, result.output
    cells_out = json.loads((tmp_path / "g.json").read_text())["metrics"]["cells"]
    assert (cells_out["tp"], cells_out["fp"], cells_out["fn"], cells_out["tn"]) == (1, 1, 1, 1)


def test_corrupt_vector_file_and_pixel_roads_without_image(tmp_path):
    (tmp_path / "bad.geojson").write_text("{not json")
    (tmp_path / "ok.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    corrupt = _invoke("--task", "buildings", "--pred", tmp_path / "bad.geojson", "--truth", tmp_path / "ok.geojson")
    assert corrupt.exit_code == 2 and "cannot read vectors" in corrupt.output
    (tmp_path / "roads.csv").write_text('ImageId,WKT_Pix\nimg,"LINESTRING (0 0, 100 0)"\n')
    pixel = _invoke("--task", "roads", "--pred", tmp_path / "roads.csv", "--truth", tmp_path / "roads.csv")
    assert pixel.exit_code == 2 and "--image" in pixel.output


def test_help_documents_road_graphs_and_the_challenge_presets():
    from geovision.evaluate.tasks import Options

    result = _invoke("--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    defaults = Options()  # the help states the defaults the options really have
    for words in (
        "JSON road graphs",
        "--challenge [spacenet2|spacenet3]",
        "PolygonWKT_Pix",
        "per AOI",
        "--min-area-px",
        f"[default: {defaults.min_area_px:g}]",
        "--midpoint-spacing-m",
        "linestring_delta",
        f"[default: {defaults.midpoint_spacing_m:g},",
        "--curvature-eps",
        "is_curved_eps",
        f"[default: {defaults.curvature_eps:g},",
        "--min-path-length-m",
        f"[default: {defaults.min_path_length_m:g}]",
        "--snap-m",
        "max_snap_dist",
        f"[default: {defaults.max_snap_dist_m}]",
        "TOPO's hole size",
    ):
        assert words in text, words


@pytest.mark.realdata
def test_roads_from_json_graphs_reproduce_the_spacenet3_reference(shared_data, tmp_path):
    folder = shared_data / "spacenet3_vegas_roads_apls"
    name = "RGB-PanSharpen_AOI_2_Vegas_img0.graph.json"
    result = _invoke(
        "--task",
        "roads",
        "--pred",
        folder / "proposal_graph_json" / name,
        "--truth",
        folder / "gt_graph_json" / name,
        "--snap-m",
        "4",
        "--midpoint-spacing-m",
        "200",
        "--curvature-eps",
        "0.12",
        "--json-out",
        tmp_path / "g.json",
    )
    assert result.exit_code == 0, result.output
    assert "RGB-PanSharpen_AOI_2_Vegas_img0 apls gt->prop" in result.output
    metrics = json.loads((tmp_path / "g.json").read_text())["metrics"]
    image = metrics["per_image"]["RGB-PanSharpen_AOI_2_Vegas_img0"]["apls"]
    assert metrics["apls"] == pytest.approx(0.7362, abs=1e-4)
    assert (image["apls_gt_onto_prop"], image["apls_prop_onto_gt"]) == (
        pytest.approx(0.7974, abs=1e-4),
        pytest.approx(0.6837, abs=1e-4),
    )
    assert metrics["settings"]["midpoint_spacing_m"] == 200 and metrics["settings"]["graph_rules"] == "geovision"


@pytest.mark.realdata
def test_roads_geojson_truth_against_json_graph(shared_data, tmp_path):
    folder = shared_data / "spacenet3_vegas_roads_apls"
    args = [
        "--task",
        "roads",
        "--pred",
        folder / "proposal_graph_json" / "RGB-PanSharpen_AOI_2_Vegas_img0.graph.json",
        "--truth",
        folder / "gt_json_prop_wkt" / "ground_truth_randomized" / "AOI_2_Vegas_img0.geojson",
    ]
    scores = {}
    for rules, extra in (("cosmiq", ["--challenge", "spacenet3"]), ("geovision", [])):
        result = _invoke(*args, *extra, "--json-out", tmp_path / f"{rules}.json")
        assert result.exit_code == 0, result.output
        metrics = json.loads((tmp_path / f"{rules}.json").read_text())["metrics"]
        assert metrics["settings"]["graph_rules"] == rules
        scores[rules] = metrics["apls"]
    assert scores["cosmiq"] == pytest.approx(0.7362, abs=1e-4)  # the reference, from the geojson
    assert scores["geovision"] == pytest.approx(0.8452, abs=1e-4)  # the shared segment kept: the road is not cut


def test_buildings_spacenet2_per_aoi(tmp_path, spacenet2_csvs):
    pred, truth = spacenet2_csvs
    result = _invoke(
        "--task",
        "buildings",
        "--challenge",
        "spacenet2",
        "--pred",
        pred,
        "--truth",
        truth,
        "--json-out",
        tmp_path / "sn2.json",
    )
    assert result.exit_code == 0, result.output
    assert "AOI_2_Vegas f1" in result.output and "AOI_3_Paris f1" in result.output
    score = json.loads((tmp_path / "sn2.json").read_text())["metrics"]["spacenet2"]
    assert {aoi: (c["tp"], c["fp"], c["fn"]) for aoi, c in score["per_aoi"].items()} == {
        "AOI_2_Vegas": (2, 1, 1),
        "AOI_3_Paris": (1, 3, 1),
    }
    assert (score["tp"], score["fp"], score["fn"], score["min_area_px"]) == (3, 4, 2, 20)
    plain = _invoke("--task", "buildings", "--pred", pred, "--truth", truth, "--json-out", tmp_path / "plain.json")
    assert plain.exit_code == 0, plain.output
    objects = json.loads((tmp_path / "plain.json").read_text())["metrics"]["objects"]
    # no 20 px rule (the 16 px building is found), IoU >= 0.5 (the 0.5 pair matches), one table
    assert (objects["tp"], objects["fp"], objects["fn"]) == (5, 3, 1) and "per_aoi" not in objects


@pytest.mark.realdata
def test_challenge_misuse_exits_2(tmp_path, shared_data, spacenet2_csvs):
    pred, truth = spacenet2_csvs
    wrong_task = _invoke("--task", "roads", "--challenge", "spacenet2", "--pred", pred, "--truth", truth)
    assert wrong_task.exit_code == 2 and "does not apply to --task roads" in wrong_task.output
    no_challenge = _invoke("--task", "buildings", "--min-area-px", "10", "--pred", pred, "--truth", truth)
    assert no_challenge.exit_code == 2 and "--challenge spacenet2" in no_challenge.output
    image = shared_data / "spacenet3_vegas_roads_apls" / "images" / "RGB-PanSharpen_AOI_2_Vegas_img0.tif"
    with_image = _invoke(
        "--task", "buildings", "--challenge", "spacenet2", "--pred", pred, "--truth", truth, "--image", image
    )
    assert with_image.exit_code == 2 and "drop --image" in with_image.output
    (tmp_path / "g.json").write_text(
        json.dumps({"nodes": [{"id": 0, "x": 0, "y": 0}, {"id": 1, "x": 9, "y": 0}], "edges": [{"u": 0, "v": 1}]})
    )
    (tmp_path / "t.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 0]]},
                    }
                ],
            }
        )
    )
    no_crs = _invoke("--task", "roads", "--pred", tmp_path / "g.json", "--truth", tmp_path / "t.geojson")
    assert no_crs.exit_code == 2 and "graph.crs" in no_crs.output

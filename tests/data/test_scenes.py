"""Scenes: images + per-task labels from mask rasters, vectors, mask PNGs, xBD JSON and synth."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from geovision.data.images import PlainImage, gsd_m_of, open_geotiff
from geovision.data.scenes import BOUNDARY_TASK, geotiff_scene, image_scene, synthetic_scenes, xbd_scene
from geovision.errors import AlignmentError, BandCountError, MissingFileError
from geovision.types import PixelWindow
from tests.rasters import ORIGIN, write_geotiff

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
FULL = PixelWindow(0, 0, 96, 80)


def test_geotiff_with_mask_rasters_reads_windows(toy_scene):
    scene = geotiff_scene(toy_scene["image"], {"buildings": toy_scene["buildings"], "roads": toy_scene["roads"]})
    assert (scene.width, scene.height, scene.gsd_m) == (96, 80, 0.5)
    image, valid, masks = scene.read(PixelWindow(20, 5, 40, 30))
    assert image.shape == (3, 30, 40) and image.dtype == np.float32 and valid.all()
    np.testing.assert_array_equal(image, toy_scene["image_array"][:, 5:35, 20:60].astype(np.float32))
    np.testing.assert_array_equal(masks["buildings"], toy_scene["buildings_array"][5:35, 20:60])
    # boundless: the part outside the scene is invalid, labels unknown there
    image, valid, masks = scene.read(PixelWindow(80, 70, 32, 32))
    assert valid[:10, :16].all() and not valid[10:].any() and not valid[:, 16:].any()
    np.testing.assert_array_equal(masks["roads"][:10, :16], toy_scene["roads_array"][70:80, 80:96])


def test_vector_labels_in_another_crs_are_rasterised_on_the_image_grid(toy_scene, tmp_path):
    x0, y0 = ORIGIN
    box = shapely.box(x0 + 30 * 0.5, y0 - 20 * 0.5, x0 + 50 * 0.5, y0 - 10 * 0.5)  # cols 30-50, rows 10-20
    road = shapely.LineString([(x0, y0 - 63 * 0.5), (x0 + 96 * 0.5, y0 - 63 * 0.5)])  # along row 63
    gpd.GeoDataFrame(geometry=[box], crs="EPSG:32615").to_crs(4326).to_file(tmp_path / "b.gpkg")
    gpd.GeoDataFrame(geometry=[road], crs="EPSG:32615").to_file(tmp_path / "r.geojson")
    scene = geotiff_scene(
        toy_scene["image"],
        {"buildings": tmp_path / "b.gpkg", "roads": tmp_path / "r.geojson"},
        line_width_m=3.0,
        boundary_px=2,
    )
    _, valid, masks = scene.read(FULL)
    assert valid.all()
    agreement = (masks["buildings"] == toy_scene["buildings_array"]).mean()
    assert agreement > 0.995  # reprojection to lon/lat and back moves edges by far less than a pixel
    road_rows = np.flatnonzero(masks["roads"].any(axis=1))
    assert road_rows.min() >= 59 and road_rows.max() <= 66 and len(road_rows) in (6, 7)  # 3 m = 6 px wide
    outline = masks[BOUNDARY_TASK]
    assert outline[10, 40] and outline[15, 30] and not outline[15, 40]  # edges, not the inside


def test_labels_must_be_on_the_image_grid(toy_scene, tmp_path):
    small = write_geotiff(tmp_path / "small.tif", np.zeros((40, 40), np.uint8))
    with pytest.raises(AlignmentError, match="40x40"):
        geotiff_scene(toy_scene["image"], {"buildings": small})
    shifted = write_geotiff(tmp_path / "shifted.tif", np.zeros((80, 96), np.uint8), origin=(ORIGIN[0] + 100, ORIGIN[1]))
    with pytest.raises(AlignmentError, match="geotransform"):
        geotiff_scene(toy_scene["image"], {"buildings": shifted})
    with pytest.raises(MissingFileError):
        geotiff_scene(toy_scene["image"], {"buildings": tmp_path / "missing.tif"})


def test_label_nodata_is_not_a_negative(toy_scene, tmp_path):
    labels = np.zeros((80, 96), np.uint8)
    labels[:, :10] = 255
    path = write_geotiff(tmp_path / "nodata.tif", labels, nodata=255)
    _, valid, masks = geotiff_scene(toy_scene["image"], {"buildings": path}).read(FULL)
    assert not valid[:, :10].any() and valid[:, 10:].all()
    assert not masks["buildings"].any()


def test_plain_image_with_mask_png(tmp_path):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (3, 64, 64), dtype=np.uint8)
    mask = np.zeros((3, 64, 64), np.uint8)
    mask[:, 20:30, :] = 255
    mask[:, 40:42, :] = 100  # below the 127 threshold
    for name, array in (("sat.png", image), ("mask.png", mask)):
        with rasterio.open(tmp_path / name, "w", driver="PNG", width=64, height=64, count=3, dtype="uint8") as dst:
            dst.write(array)
    scene = image_scene(tmp_path / "sat.png", {"roads": tmp_path / "mask.png"}, gsd_m=0.5)
    data, valid, masks = scene.read(PixelWindow(0, 0, 64, 64))
    np.testing.assert_array_equal(data, image.astype(np.float32))
    assert valid.all() and masks["roads"][20:30].all() and masks["roads"].sum() == 640
    with pytest.raises(BandCountError):
        PlainImage(tmp_path / "sat.png", bands=[4])


def _xbd_json(path, polygons: list[tuple[str, shapely.Polygon]]) -> None:
    xy = [
        {"properties": {"feature_type": "building", "uid": str(i), "subtype": subtype}, "wkt": poly.wkt}
        for i, (subtype, poly) in enumerate(polygons)
    ]
    lnglat = [
        {
            "properties": {"feature_type": "building", "uid": str(i)},
            "wkt": shapely.affinity.affine_transform(poly, [1e-5, 0, 0, -1e-5, -94.5, 37.0]).wkt,
        }
        for i, (_, poly) in enumerate(polygons)
    ]
    path.write_text(json.dumps({"features": {"xy": xy, "lng_lat": lnglat}, "metadata": {"width": 64, "height": 64}}))


def test_xbd_scene_and_excluded_damage_classes(tmp_path):
    with rasterio.open(tmp_path / "post.png", "w", driver="PNG", width=64, height=64, count=3, dtype="uint8") as dst:
        dst.write(np.full((3, 64, 64), 90, np.uint8))
    _xbd_json(
        tmp_path / "post.json", [("no-damage", shapely.box(5, 5, 15, 15)), ("destroyed", shapely.box(30, 30, 40, 45))]
    )
    scene = xbd_scene(tmp_path / "post.png", tmp_path / "post.json", gsd_m=0.45)
    assert scene.read(PixelWindow(0, 0, 64, 64))[2]["buildings"].sum() == 100 + 150
    standing = xbd_scene(
        tmp_path / "post.png", tmp_path / "post.json", gsd_m=0.45, exclude_subtypes=("destroyed", "major-damage")
    )
    masks = standing.read(PixelWindow(0, 0, 64, 64))[2]
    assert masks["buildings"].sum() == 100 and not masks["buildings"][30:45, 30:40].any()


@pytest.mark.realdata
def test_real_xbd_joplin_tile(shared_data):
    folder = shared_data / "xbd_joplin_tornado"
    scene = xbd_scene(
        folder / "images/joplin-tornado_00000001_pre_disaster.png",
        folder / "labels/joplin-tornado_00000001_pre_disaster.json",
        gsd_m=0.451,
    )
    image, valid, masks = scene.read(PixelWindow(0, 0, 1024, 1024))
    assert image.shape == (3, 1024, 1024) and valid.mean() > 0.9
    assert 0.05 < masks["buildings"].mean() < 0.5  # a built-up residential tile


@pytest.mark.realdata
def test_real_spacenet_geographic_raster_and_road_lines(shared_data):
    folder = shared_data / "spacenet3_vegas_roads_apls"
    scene = geotiff_scene(
        folder / "images/RGB-PanSharpen_AOI_2_Vegas_img0.tif",
        {"roads": folder / "gt_json_prop_wkt/ground_truth_randomized/AOI_2_Vegas_img0.geojson"},
        line_width_m=6,
    )
    assert scene.image.count == 3  # alpha band left out
    assert 0.27 < scene.gsd_m < 0.33  # 2.7e-6 degrees at Las Vegas, measured geodesically
    _, valid, masks = scene.read(PixelWindow(0, 0, 1300, 1300))
    assert 0.05 < masks["roads"][valid].mean() < 0.4


def test_gsd_of_metric_and_geographic_rasters(tmp_path):
    utm = write_geotiff(tmp_path / "utm.tif", np.zeros((8, 8), np.uint8), res_m=0.3)
    geo = write_geotiff(
        tmp_path / "geo.tif", np.zeros((8, 8), np.uint8), res_m=1e-5, crs="EPSG:4326", origin=(10.0, 0.0)
    )
    assert gsd_m_of(open_geotiff(utm)) == pytest.approx(0.3)
    assert gsd_m_of(open_geotiff(geo)) == pytest.approx(1.11, rel=0.01)


def test_synthetic_scenes_are_generated_once(tmp_path):
    scenes = synthetic_scenes(tmp_path, count=1, width=160, height=160, seed=5, dates=("pre", "post"))
    assert [s.name for s in scenes] == ["tornado_0005_160x160_pre", "tornado_0005_160x160_post"]
    assert set(scenes[0].targets) == {"buildings", "roads"} and scenes[0].gsd_m == 0.5
    image, valid, masks = scenes[0].read(PixelWindow(0, 0, 160, 160))
    assert image.shape == (3, 160, 160) and valid.all() and masks["roads"].any()
    stamp = (tmp_path / "tornado_0005_160x160" / "pre.tif").stat().st_mtime_ns
    synthetic_scenes(tmp_path, count=1, width=160, height=160, seed=5)
    assert (tmp_path / "tornado_0005_160x160" / "pre.tif").stat().st_mtime_ns == stamp
    assert Affine(*open_geotiff(scenes[0].image.path).transform[:6]).a == 0.5

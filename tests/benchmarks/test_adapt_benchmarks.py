"""benchmarks/adapt_rio.py and adapt_grey_joplin.py: the label noise and the grey copy they score with."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.transform import from_origin

from tests.benchmarks.test_inference_throughput import ROOT, load
from tests.rasters import write_geotiff

rio = load(ROOT / "benchmarks" / "adapt_rio.py")
grey = load(ROOT / "benchmarks" / "adapt_grey_joplin.py")


def test_osm_like_labels_drop_a_fifth_and_shift_the_rest_by_at_most_2_m():
    boxes = [shapely.box(x, 0, x + 10, 10) for x in range(0, 5000, 20)]  # 250 buildings in metres
    frame = gpd.GeoDataFrame(geometry=boxes, crs="EPSG:32633")
    noisy = rio.osm_like(frame, seed=3)
    assert 0.7 < len(noisy) / len(frame) < 0.9  # about 20 % dropped
    shifts = [min(shapely.centroid(g).distance(shapely.centroid(b)) for b in boxes) for g in noisy.geometry]
    assert max(shifts) <= 2.0 + 1e-6 and np.mean(shifts) > 0.3  # moved, never beyond 2 m
    assert len(rio.osm_like(frame, seed=3)) == len(noisy)  # seeded


def test_footprints_trace_the_mask_polygons(tmp_path):
    mask = np.zeros((1, 40, 40), np.uint8)
    mask[0, 5:15, 5:15] = 255
    mask[0, 25:35, 20:30] = 255
    path = write_geotiff(
        tmp_path / "mask.tif", mask, transform=from_origin(500000, 4000000, 0.5, 0.5), crs="EPSG:32633"
    )
    frame = rio.footprints(path)
    assert len(frame) == 2 and np.allclose(sorted(frame.area), [25.0, 25.0])


def test_the_grey_copy_is_one_band_of_luminance(tmp_path):
    rgb = np.stack([np.full((8, 8), 200), np.full((8, 8), 100), np.full((8, 8), 50)]).astype(np.uint8)
    image = write_geotiff(tmp_path / "rgb.tif", rgb, transform=from_origin(0, 8, 1, 1), crs="EPSG:32633")
    out = grey.grey_copy(image, tmp_path / "grey.tif")
    with rasterio.open(out) as src:
        assert src.count == 1 and src.crs.to_epsg() == 32633
        assert int(src.read(1)[0, 0]) == round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)


paris = load(ROOT / "benchmarks" / "adapt_paris.py")


def test_paris_truth_is_the_osm_lines_buffered_in_metres_on_a_lon_lat_grid():
    """SpaceNet's Paris chip is in EPSG:4326: the corridors must be 7 m wide, not 7 degrees."""
    res = 2.7e-6  # degrees, about 0.3 m at 48.85 N in y (0.2 m in x)
    transform = from_origin(2.30, 48.851, res, res)
    roads = gpd.GeoDataFrame(
        {"width_m": [7.0]}, geometry=[shapely.LineString([(2.30, 48.8507), (2.3011, 48.8507)])], crs="EPSG:4326"
    )
    truth = paris.road_truth(roads, (250, 400), transform, "EPSG:4326")
    rows = truth.any(axis=1).sum()  # the line runs east-west: its width is counted in rows
    assert 0.03 < truth.mean() < 0.15
    assert abs(rows * res * 111_320 - 7.0) < 1.0  # about 7 m across (+ all-touched edge pixels)


def test_recipe_options_default_to_adapts_and_reach_its_options():
    import argparse

    from geovision.adapt.run import AdaptOptions

    report = load(ROOT / "benchmarks" / "adapt_report.py")
    parser = argparse.ArgumentParser()
    report.add_recipe_options(parser)
    assert report.recipe(parser.parse_args([])) == {
        "lr": AdaptOptions.lr,
        "ignore_edge_px": AdaptOptions.ignore_edge_px,
        "negative_weight": AdaptOptions.negative_weight,
        "gap_m": AdaptOptions.gap_m,
        "gap_weight": AdaptOptions.gap_weight,
    }
    args = parser.parse_args(["--lr", "1e-3", "--negative-weight", "1"])
    assert AdaptOptions(**report.recipe(args)).negative_weight == 1.0 and report.recipe(args)["lr"] == 1e-3

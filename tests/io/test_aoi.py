"""AOI: the grid covers the AOI's bounding box, pixels outside its polygons are invalid, any CRS works,
and every unusable AOI file fails with a clear error."""

from __future__ import annotations

import pickle
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Transformer

from geovision.errors import ConfigError, CorruptFileError, GeoreferenceError, MissingFileError, NoOverlapError
from geovision.inference.sources import SourceSpec
from geovision.io.align import align_pair, warp_to_grid
from geovision.io.aoi import load_aoi
from geovision.types import PixelWindow
from tests.rasters import ORIGIN, UTM

from .conftest import random_image, write_raster

X0, Y0 = ORIGIN
RES = 0.5
TO_LONLAT = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)


def px(col: float, row: float) -> tuple[float, float]:
    """UTM coordinates of a pixel corner of the 0.5 m test rasters."""
    return X0 + col * RES, Y0 - row * RES


# a triangle whose bounding box is columns 10..50, rows 20..70 (pixel edges)
TRIANGLE = shapely.Polygon([px(10, 20), px(50, 20), px(10, 70)])


def write_aoi(path: Path, geometries, crs: str | None = UTM, driver: str | None = None) -> Path:
    gpd.GeoDataFrame(
        {"name": [f"part{i}" for i in range(len(geometries))]}, geometry=list(geometries), crs=crs
    ).to_file(path, driver=driver, engine="pyogrio")
    return path


def to_lonlat(geometry):
    dense = shapely.segmentize(geometry, 1.0)
    return shapely.transform(dense, lambda xy: np.column_stack(TO_LONLAT.transform(xy[:, 0], xy[:, 1])))


def inside_centres(geometry, transform, height: int, width: int) -> np.ndarray:
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    x, y = transform @ (cols, rows)
    return shapely.contains_xy(geometry, x, y)


@pytest.fixture
def pair_paths(tmp_path):
    pre = write_raster(tmp_path / "pre.tif", random_image(1))  # 128 x 96 px at 0.5 m
    post = write_raster(tmp_path / "post.tif", random_image(2))
    return pre, post


def test_grid_is_the_aoi_bbox_and_outside_pixels_are_invalid(tmp_path, pair_paths):
    pre, post = pair_paths
    aoi = write_aoi(tmp_path / "aoi.gpkg", [TRIANGLE])
    with align_pair(pre, post, aoi=aoi) as pair:
        assert (pair.width, pair.height) == (40, 50)
        assert (pair.transform.c, pair.transform.f) == pytest.approx(px(10, 20))
        sample = pair.read(PixelWindow(0, 0, pair.width, pair.height), scaled=False)
        expected = inside_centres(TRIANGLE, pair.transform, pair.height, pair.width)
        assert 0.3 < expected.mean() < 0.7
        np.testing.assert_array_equal(sample["valid"], expected)
        source = random_image(1)[:, 20:70, 10:50].astype(np.float32)
        np.testing.assert_array_equal(sample["image_pre"][:, expected], source[:, expected])  # not resampled
        assert (sample["image_pre"][:, ~expected] == 0).all() and (sample["image_post"][:, ~expected] == 0).all()
        # window by window gives the same mask (the mask is computed per window, boundless windows too)
        tiled = np.zeros((pair.height + 20, pair.width + 20), bool)
        for row in range(-10, pair.height + 10, 16):
            for col in range(-10, pair.width + 10, 16):
                piece = pair.read(PixelWindow(col, row, 16, 16))["valid"]
                h, w = tiled[row + 10 : row + 26, col + 10 : col + 26].shape
                tiled[row + 10 : row + 10 + h, col + 10 : col + 10 + w] = piece[:h, :w]
        np.testing.assert_array_equal(tiled[10:-10, 10:-10], expected)
        assert not tiled[:10].any() and not tiled[:, :10].any()
        again = pickle.loads(pickle.dumps(pair))  # Dask workers get a pickled pair
        np.testing.assert_array_equal(again.read(PixelWindow(0, 0, 40, 50))["valid"], expected)


def test_aoi_without_a_bbox_on_pixel_edges(tmp_path, pair_paths):
    pre, post = pair_paths
    shape = shapely.box(*px(10.3, 30.6), *px(20.2, 20.4))  # xmin, ymin, xmax, ymax
    with align_pair(pre, post, aoi=(shape, UTM)) as pair:
        assert (pair.width, pair.height) == (10, 11)  # pixel centres inside: columns 10..19, rows 20..30
        assert (pair.transform.c, pair.transform.f) == pytest.approx(px(10, 20))
        assert pair.read(PixelWindow(0, 0, 10, 11))["valid"].all()
    path = write_aoi(tmp_path / "box.gpkg", [shape])
    single = SourceSpec(pre=str(pre), aoi=str(path)).open()  # the same pixels for a single image
    assert (single.width, single.height, single.transform) == (10, 11, pair.transform)
    tiny = shapely.box(*px(10.6, 20.9), *px(10.9, 20.6))  # between pixel centres
    with pytest.raises(NoOverlapError, match="no pixel centre"):
        align_pair(pre, post, aoi=(tiny, UTM))


def test_aoi_in_lonlat_and_multi_polygon_union(tmp_path, pair_paths):
    pre, post = pair_paths
    square = shapely.box(*px(100, 90), *px(120, 80))
    aoi = write_aoi(tmp_path / "aoi.geojson", [to_lonlat(TRIANGLE), to_lonlat(square)], crs="EPSG:4326")
    geometry, crs = load_aoi(aoi)
    assert crs.to_epsg() == 4326 and geometry.geom_type == "MultiPolygon"
    with align_pair(pre, post, aoi=aoi) as pair:
        assert pair.crs.to_epsg() == 32615
        assert (pair.width, pair.height) == (110, 70)  # columns 10..120, rows 20..90
        assert (pair.transform.c, pair.transform.f) == pytest.approx(px(10, 20), abs=1e-3)
        valid = pair.read(PixelWindow(0, 0, pair.width, pair.height))["valid"]
        expected = inside_centres(shapely.union(TRIANGLE, square), pair.transform, pair.height, pair.width)
        assert (valid != expected).sum() <= 2  # round-trip through lon/lat moves edges by micrometres
        assert valid[65, 95] and not valid[5, 95]


def test_clip_is_limited_to_the_pair_overlap(tmp_path, pair_paths):
    pre, post = pair_paths
    big = shapely.box(*px(-50, 60), *px(64, -40))  # sticks out of the images at the top left
    with align_pair(pre, post, aoi=(big, UTM)) as pair:
        assert (pair.width, pair.height) == (64, 60)
        assert pair.read(PixelWindow(0, 0, 64, 60))["valid"].all()


def test_single_image_source_is_clipped(tmp_path, pair_paths):
    pre, _ = pair_paths
    aoi = write_aoi(tmp_path / "aoi.gpkg", [TRIANGLE])
    source = SourceSpec(pre=str(pre), aoi=str(aoi)).open()
    assert (source.width, source.height) == (40, 50)
    assert (source.transform.c, source.transform.f) == pytest.approx(px(10, 20))
    images, valid = source.read(PixelWindow(-5, 0, 50, 50))
    expected = inside_centres(TRIANGLE, source.transform, 50, 40)
    np.testing.assert_array_equal(valid[:, 5:45], expected)
    assert not valid[:, :5].any() and not valid[:, 45:].any()
    assert (images["scene"][:, ~valid] == 0).all()
    full = SourceSpec(pre=str(pre)).open().read(PixelWindow(10, 20, 40, 50))[0]["scene"]
    np.testing.assert_array_equal(images["scene"][:, :, 5:45][:, expected], full[:, expected])


def test_warp_to_grid_clips_a_mask(tmp_path, pair_paths):
    pre, post = pair_paths
    mask = np.zeros((96, 128), np.uint8)
    mask[30:40, :] = 1
    mask_path = write_raster(tmp_path / "mask.tif", mask)
    with align_pair(pre, post, aoi=(TRIANGLE, UTM)) as pair:
        out = warp_to_grid(mask_path, pair.grid, tmp_path / "clipped.tif", aoi=pair.aoi)
        expected = inside_centres(TRIANGLE, pair.transform, 50, 40)
    with rasterio.open(out) as src:
        assert (src.width, src.height, src.nodata) == (40, 50, 255)
        data = src.read(1)
    np.testing.assert_array_equal(data[~expected], 255)
    np.testing.assert_array_equal(data[expected], mask[20:70, 10:50][expected])


def test_missing_unreadable_and_crs_less_aoi_files(tmp_path, pair_paths):
    pre, post = pair_paths
    with pytest.raises(MissingFileError, match="nowhere.gpkg"):
        align_pair(pre, post, aoi=tmp_path / "nowhere.gpkg")
    garbage = tmp_path / "garbage.gpkg"
    garbage.write_bytes(b"not a geopackage at all" * 10)
    with pytest.raises(CorruptFileError, match="garbage.gpkg"):
        load_aoi(garbage)
    no_crs = write_aoi(tmp_path / "no_crs.shp", [TRIANGLE], crs=None)
    with pytest.raises(GeoreferenceError, match="no CRS") as error:
        align_pair(pre, post, aoi=no_crs)
    assert "no_crs.shp" in str(error.value) and error.value.fix


def test_aoi_without_polygons(tmp_path, pair_paths):
    pre, post = pair_paths
    points = write_aoi(tmp_path / "points.gpkg", [shapely.Point(px(20, 30)), shapely.LineString([px(0, 0), px(5, 5)])])
    with pytest.raises(ConfigError, match="no polygon geometries") as error:
        align_pair(pre, post, aoi=points)
    assert "points.gpkg" in str(error.value) and "LineString" in str(error.value) and error.value.exit_code == 2


def test_aoi_outside_the_pair_overlap(tmp_path, pair_paths):
    pre, post = pair_paths
    far = write_aoi(tmp_path / "far.gpkg", [shapely.box(*px(500, 500), *px(600, 400))])
    with pytest.raises(NoOverlapError, match="AOI does not overlap") as error:
        align_pair(pre, post, aoi=far)
    assert "far.gpkg" in str(error.value) and "CRS" in error.value.fix
    # its bbox overlaps the images, the polygon itself does not
    ring = shapely.box(*px(-100, 200), *px(300, -100)).difference(shapely.box(*px(-10, 110), *px(140, -10)))
    with pytest.raises(NoOverlapError):
        align_pair(pre, post, aoi=(ring, UTM))
    with pytest.raises(NoOverlapError, match="far.gpkg"):
        SourceSpec(pre=str(pre), aoi=str(far)).open()

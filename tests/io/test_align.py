"""Alignment is checked against a known world field: every aligned pixel must hold the field's
value at its own centre, whatever CRS, resolution, offset or orientation the input had."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import Transformer
from scipy import ndimage

from geovision.errors import BandCountError, NoOverlapError
from geovision.io.align import align_pair
from geovision.io.raster import open_raster
from geovision.types import PixelWindow
from tests.rasters import ORIGIN, UTM, write_geotiff

from .conftest import write_raster

X0, Y0 = ORIGIN
TO_UTM = Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
TO_LONLAT = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)


def field(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A linear field in UTM metres (bilinear resampling reproduces it exactly)."""
    return (x - X0) + 0.5 * (Y0 - y) + 10.0


def field_raster(
    path: Path, transform: Affine, width: int, height: int, *, crs: str = UTM, invalid: np.ndarray | None = None
) -> Path:
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    x, y = transform @ (cols, rows)
    if crs != UTM:
        x, y = TO_UTM.transform(x, y)
    values = field(np.asarray(x), np.asarray(y)).astype(np.float32)
    if invalid is not None:
        values[invalid] = np.nan
    return write_raster(path, values[None], crs=crs, transform=transform)


def utm_grid(res: float, dx: float = 0.0, dy: float = 0.0, x0: float = X0, y0: float = Y0) -> Affine:
    return Affine(res, 0, x0 + dx, 0, -res, y0 + dy)


def check_against_field(pair, *, tol: float, min_valid: float = 0.95) -> None:
    """Interior pixels match the field within ``tol`` m; pixels at the data's edge (where bilinear
    has only some neighbours) within one source pixel."""
    window = PixelWindow(0, 0, pair.width, pair.height)
    sample = pair.read(window)
    valid = sample["valid"]
    assert valid.mean() >= min_valid
    interior = ndimage.binary_erosion(valid, iterations=2)
    cols, rows = np.meshgrid(np.arange(pair.width) + 0.5, np.arange(pair.height) + 0.5)
    expected = field(*(pair.transform @ (cols, rows)))
    for key in ("image_pre", "image_post"):
        error = np.abs(sample[key][0] - expected)
        assert error[interior].max() < tol, f"{key}: max error {error[interior].max():.3f} m"
        assert error[valid].max() < 0.6, f"{key}: max error at the edge {error[valid].max():.3f} m"


def test_utm_pre_and_lonlat_post(tmp_path):
    pre = field_raster(tmp_path / "pre.tif", utm_grid(0.3), 300, 200)
    lon0, lat0 = TO_LONLAT.transform(X0 + 10, Y0 + 5)
    post_transform = Affine(5e-6, 0, lon0, 0, -4.5e-6, lat0)  # ~0.45 m x 0.5 m
    post = field_raster(tmp_path / "post.tif", post_transform, 180, 110, crs="EPSG:4326")
    pair = align_pair(pre, post)
    assert pair.crs.to_epsg() == 32615 and pair.res_m == pytest.approx(0.3)
    # the grid is the pre grid (pixel edges on the pre's), inside both footprints
    assert ((pair.transform.c - X0) / 0.3) == pytest.approx(round((pair.transform.c - X0) / 0.3), abs=1e-6)
    post_bounds = [TO_UTM.transform(*post_transform @ c) for c in ((0, 0), (180, 0), (0, 110), (180, 110))]
    assert pair.bounds.xmin >= min(x for x, _ in post_bounds) - 1e-6
    assert pair.bounds.ymax <= max(y for _, y in post_bounds) + 1e-6
    check_against_field(pair, tol=0.05, min_valid=0.97)


def test_lonlat_pair_goes_to_the_utm_zone_of_the_overlap(tmp_path):
    lon0, lat0 = TO_LONLAT.transform(X0, Y0)
    pre = field_raster(tmp_path / "pre.tif", Affine(6e-6, 0, lon0, 0, -5e-6, lat0), 120, 120, crs="EPSG:4326")
    post = field_raster(tmp_path / "post.tif", Affine(5e-6, 0, lon0, 0, -5e-6, lat0), 130, 130, crs="EPSG:4326")
    pair = align_pair(pre, post)
    assert pair.crs.to_epsg() == 32615
    assert 0.4 < pair.res_m < 0.6
    check_against_field(pair, tol=0.1, min_valid=0.9)  # GDAL approximates the projection to 0.125 px


def test_resolution_is_the_finer_unless_given(tmp_path):
    pre = field_raster(tmp_path / "pre.tif", utm_grid(0.5), 100, 100)
    post = field_raster(tmp_path / "post.tif", utm_grid(0.3), 160, 160)
    pair = align_pair(pre, post)
    assert pair.res_m == pytest.approx(0.3)
    assert (pair.width, pair.height) == (160, 160)  # 48 m of overlap at 0.3 m
    check_against_field(pair, tol=0.02, min_valid=0.99)
    coarse = align_pair(pre, post, res_m=1.0)
    assert (coarse.res_m, coarse.width, coarse.height) == (1.0, 48, 48)


def test_partial_overlap_is_the_snapped_intersection(tmp_path):
    pre = field_raster(tmp_path / "pre.tif", utm_grid(0.5), 100, 80)  # x 0..50, y -40..0
    post = field_raster(tmp_path / "post.tif", utm_grid(0.5, 20.2, -10.1), 100, 80)  # x 20.2..70.2, y -50.1..-10.1
    pair = align_pair(pre, post)
    assert tuple(pair.bounds) == pytest.approx((X0 + 20.5, Y0 - 40.0, X0 + 50.0, Y0 - 10.5))
    assert (pair.width, pair.height) == (59, 59)
    check_against_field(pair, tol=0.02, min_valid=1.0)


def test_sub_pixel_offset_is_resampled_onto_the_pre_grid(tmp_path):
    pre = field_raster(tmp_path / "pre.tif", utm_grid(0.5), 64, 64)
    post = field_raster(tmp_path / "post.tif", utm_grid(0.5, 0.37 * 0.5, -0.21 * 0.5), 64, 64)
    pair = align_pair(pre, post)
    assert pair.transform.c == pytest.approx(X0 + 0.5) and pair.transform.f == pytest.approx(Y0 - 0.5)
    assert (pair.width, pair.height) == (63, 63)
    check_against_field(pair, tol=0.02, min_valid=0.98)
    sample = pair.read(PixelWindow(0, 0, 63, 63))
    pre_raw, _ = open_raster(pre).read(PixelWindow(1, 1, 63, 63))
    np.testing.assert_array_equal(sample["image_pre"], pre_raw)  # the pre is not resampled


@pytest.mark.parametrize(
    "post_transform, tol",
    [
        (Affine(0.5, 0, X0 - 2, 0, 0.5, Y0 - 40), 0.02),  # south-up
        (Affine.translation(X0 + 25, Y0 - 45) @ Affine.rotation(20) @ Affine.scale(0.5, -0.5), 0.1),  # rotated
    ],
    ids=["south-up", "rotated"],
)
def test_south_up_and_rotated_post(tmp_path, post_transform, tol):
    pre = field_raster(tmp_path / "pre.tif", utm_grid(0.5), 100, 100)
    post = field_raster(tmp_path / "post.tif", post_transform, 100, 100)
    pair = align_pair(pre, post)
    assert pair.transform.e < 0 and pair.transform.b == 0
    check_against_field(pair, tol=tol, min_valid=0.4)  # rotated: GDAL's warp kernel costs ~0.1 px
    # valid exactly where the post's (possibly rotated) footprint is, up to a pixel at its edge
    footprint = shapely.Polygon([post_transform @ c for c in ((0, 0), (100, 0), (100, 100), (0, 100))])
    cols, rows = np.meshgrid(np.arange(pair.width) + 0.5, np.arange(pair.height) + 0.5)
    centres = shapely.points(*(pair.transform @ (cols, rows)))
    valid = pair.read(PixelWindow(0, 0, pair.width, pair.height))["valid"]
    assert valid[shapely.contains(footprint.buffer(-0.5), centres)].all()
    assert not valid[~shapely.contains(footprint.buffer(0.5), centres)].any()


def test_nan_nodata_in_float_post_is_invalid(tmp_path):
    pre = field_raster(tmp_path / "pre.tif", utm_grid(0.5), 64, 64)
    holes = np.zeros((64, 64), bool)
    holes[20:30, 10:40] = True
    post = field_raster(tmp_path / "post.tif", utm_grid(0.5), 64, 64, invalid=holes)
    sample = align_pair(pre, post).read(PixelWindow(0, 0, 64, 64))
    np.testing.assert_array_equal(sample["valid"], ~holes)
    assert np.isfinite(sample["image_post"]).all() and (sample["image_post"][:, holes] == 0).all()


def test_all_nodata_post_reads_all_invalid(tmp_path):
    pre = field_raster(tmp_path / "pre.tif", utm_grid(0.5), 64, 64)
    post = write_raster(tmp_path / "post.tif", np.zeros((1, 64, 64), np.uint16), nodata=0, transform=utm_grid(0.5))
    sample = align_pair(pre, post).read(PixelWindow(0, 0, 64, 64))
    assert not sample["valid"].any() and not sample["image_pre"].any()


def test_edge_windows_are_boundless(tmp_path):
    pre = field_raster(tmp_path / "pre.tif", utm_grid(0.5), 64, 64)
    pair = align_pair(pre, pre)
    sample = pair.read(PixelWindow(-8, 56, 16, 16))
    assert sample["image_pre"].shape == (1, 16, 16)
    assert sample["valid"][:8, 8:].all() and sample["valid"].sum() == 64
    assert not pair.read(PixelWindow(100, 100, 8, 8))["valid"].any()
    clone = pickle.loads(pickle.dumps(pair))
    np.testing.assert_array_equal(
        clone.read(PixelWindow(0, 0, 64, 64))["image_post"], pair.read(PixelWindow(0, 0, 64, 64))["image_post"]
    )


def test_no_overlap(tmp_path):
    pre = field_raster(tmp_path / "pre.tif", utm_grid(0.5), 64, 64)
    far = field_raster(tmp_path / "far.tif", utm_grid(0.5, 1000), 64, 64)
    with pytest.raises(NoOverlapError, match="far.tif.*do not overlap.*Fix"):
        align_pair(pre, far)
    touching = field_raster(tmp_path / "touching.tif", utm_grid(0.5, 32), 64, 64)
    with pytest.raises(NoOverlapError, match="touching.tif"):
        align_pair(pre, touching)


def test_band_count_mismatch(tmp_path):
    pre = field_raster(tmp_path / "pre.tif", utm_grid(0.5), 64, 64)
    post = write_raster(tmp_path / "post.tif", np.ones((3, 64, 64), np.uint8), transform=utm_grid(0.5))
    with pytest.raises(BandCountError, match="post.tif.*3 selected band"):
        align_pair(pre, post)


def test_scaling_is_per_date(tmp_path):
    pre = write_raster(tmp_path / "pre.tif", np.full((1, 32, 32), 100, np.uint16), transform=utm_grid(0.5))
    post = write_raster(tmp_path / "post.tif", np.full((1, 32, 32), 200, np.uint8), transform=utm_grid(0.5))
    sample = align_pair(pre, post, scaling="dtype").read(PixelWindow(0, 0, 32, 32))
    assert sample["image_pre"].max() == pytest.approx(100 / 65535)
    assert sample["image_post"].max() == pytest.approx(200 / 255)


@pytest.mark.realdata
def test_puerto_rico_pair_aligns(shared_data):
    folder = shared_data / "puerto_rico_maria_ey2024"
    pre_path = folder / "Pre_Event_Grids_In_TIFF" / "tile_0_107.tif"
    post_path = folder / "Post_Event_Grids_In_TIFF" / "tile_0_107.tif"
    with align_pair(pre_path, post_path) as pair:
        assert pair.crs.to_epsg() == 32619 and pair.res_m == pytest.approx(0.30517578125)
        assert (pair.width, pair.height) == (512, 512)
        sample = pair.read(PixelWindow(0, 0, 512, 512))
        assert sample["valid"].all()
        for key, path in (("image_pre", pre_path), ("image_post", post_path)):
            np.testing.assert_array_equal(sample[key], open_raster(path).read(PixelWindow(0, 0, 512, 512))[0])


def _lonlat_scene(path, left: float, seed: int, width: int = 512, height: int = 256, res: float = 4.5e-6):
    data = np.random.default_rng(seed).integers(1, 255, (3, height, width), dtype=np.uint8)
    return write_geotiff(path, data, crs="EPSG:4326", transform=Affine(res, 0, left, 0, -res, -16.5))


def test_a_lon_lat_pair_across_the_antimeridian_stays_whole(tmp_path):
    """Issue 17.5: everything east of 180 degrees used to be nodata."""
    from geovision.io.align import align_pair
    from geovision.io.bands import RGB
    from geovision.types import PixelWindow

    left = 180 - 256 * 4.5e-6  # half the scene west of 180, half east (longitudes past 180)
    pre, post = (_lonlat_scene(tmp_path / f"{d}.tif", left, seed) for d, seed in (("pre", 1), ("post", 2)))
    with align_pair(pre, post, model_bands=RGB) as pair:
        assert pair.grid.crs.to_epsg() == 32760
        whole = PixelWindow(0, 0, pair.grid.width, pair.grid.height)
        for date in ("pre", "post"):
            data, valid = pair.read_raw(date, whole)
            half = pair.grid.width // 2
            west, east = valid[:, :half].mean(), valid[:, half:].mean()  # the UTM grid is turned ~0.85 degrees
            assert west > 0.93 and east > 0.93, (date, west, east)
            assert data[:, 5:-5, half + 5 : -5].std() > 30  # the east half holds the image, not fill


@pytest.mark.parametrize("form", ["longitudes-past-180", "split-at-180"])
def test_an_aoi_across_the_antimeridian_keeps_both_sides(tmp_path, form):
    """Issue 17.5: an AOI over 180 degrees, written with longitudes past 180 or split in two (RFC 7946)."""
    import geopandas as gpd
    import shapely

    from geovision.io.align import align_pair
    from geovision.io.bands import RGB
    from geovision.types import PixelWindow

    left = 180 - 256 * 4.5e-6
    pre, post = (_lonlat_scene(tmp_path / f"{d}.tif", left, seed) for d, seed in (("pre", 1), ("post", 2)))
    w, top, bottom = 200 * 4.5e-6, -16.5 - 40 * 4.5e-6, -16.5 - 400 * 4.5e-6
    area = (
        shapely.box(180 - w, bottom, 180 + w, top)
        if form == "longitudes-past-180"
        else shapely.MultiPolygon([shapely.box(180 - w, bottom, 180, top), shapely.box(-180, bottom, -180 + w, top)])
    )
    gpd.GeoDataFrame(geometry=[area], crs="EPSG:4326").to_file(tmp_path / "aoi.gpkg")
    with align_pair(pre, post, aoi=tmp_path / "aoi.gpkg", model_bands=RGB) as pair:
        assert pair.grid.width == pytest.approx(2 * w * 111_000 * 0.958 / pair.res_m, rel=0.1)  # both sides, ~400 px
        _, valid = pair.read_raw("pre", PixelWindow(0, 0, pair.grid.width, pair.grid.height))
        half = pair.grid.width // 2
        assert valid[:, :half].mean() > 0.9 and valid[:, half:].mean() > 0.9


def test_a_post_on_the_pre_grid_is_read_without_warping_and_reads_as_warped(tmp_path):
    rng = np.random.default_rng(4)
    pre = write_raster(tmp_path / "pre.tif", rng.integers(0, 256, (3, 64, 64), dtype=np.uint8), transform=utm_grid(0.5))
    post_values = rng.integers(0, 256, (3, 70, 70), dtype=np.uint8)
    post = write_raster(tmp_path / "post.tif", post_values, transform=utm_grid(0.5, -5.0, 3.0))  # 10 / 6 px off
    shifted = write_raster(tmp_path / "shifted.tif", post_values, transform=utm_grid(0.5, 0.37 * 0.5, 0.0))
    holes = write_raster(tmp_path / "holes.tif", post_values, nodata=0, transform=utm_grid(0.5, -5.0, 3.0))
    pair = align_pair(pre, post)
    assert pair._offset_on_grid("pre") == (0, 0) and pair._offset_on_grid("post") == (10, 6)
    assert align_pair(pre, shifted)._offset_on_grid("post") is None  # a sub-pixel shift is warped
    assert align_pair(pre, holes)._offset_on_grid("post") is None  # nodata: the warper's rule
    window = PixelWindow(-8, 4, 48, 64)
    direct = pair.read(window)
    pair._offsets = {"pre": None, "post": None}  # force the warped path
    warped = pair.read(window)
    for key in ("image_pre", "image_post", "valid"):
        np.testing.assert_array_equal(direct[key], warped[key])
    np.testing.assert_array_equal(direct["image_post"][:, 0, 8:], post_values[:, 10, 10:50])

from __future__ import annotations

import pickle

import numpy as np
import pytest
from affine import Affine

from geovision.errors import BandCountError, CorruptFileError, GeoreferenceError, MissingFileError, NodataError
from geovision.io.raster import open_raster
from geovision.types import PixelWindow
from tests.rasters import ORIGIN

from .conftest import bad_nodata_vrt, corrupt_tile, random_image, write_raster

FULL = PixelWindow(0, 0, 128, 96)


def test_reads_uint8_as_float32_with_metadata(image_tif):
    src = open_raster(image_tif)
    assert (src.width, src.height, src.count, src.dtypes) == (128, 96, 3, ("uint8",) * 3)
    assert src.res == (0.5, 0.5) and src.crs.to_epsg() == 32615 and src.nodata is None
    assert src.bounds == (ORIGIN[0], ORIGIN[1] - 48, ORIGIN[0] + 64, ORIGIN[1])
    data, valid = src.read(FULL)
    assert data.dtype == np.float32 and data.shape == (3, 96, 128) and valid.all()
    np.testing.assert_array_equal(data, random_image(0).astype(np.float32))


def test_band_selection_and_order(image_tif):
    src = open_raster(image_tif, bands=[3, 1])
    data, _ = src.read(PixelWindow(0, 0, 8, 8))
    np.testing.assert_array_equal(data, random_image(0)[[2, 0], :8, :8])
    src.check_band_count(2)
    with pytest.raises(BandCountError, match="image.tif.*needs 3"):
        src.check_band_count(3)
    with pytest.raises(BandCountError, match="between 1 and 3"):
        open_raster(image_tif, bands=[1, 4])


def test_boundless_read_pads_invalid(image_tif):
    data, valid = open_raster(image_tif).read(PixelWindow(-10, 90, 20, 20))
    assert data.shape == (3, 20, 20)
    assert valid[:6, 10:].all() and not valid[6:].any() and not valid[:, :10].any()
    assert (data[:, ~valid] == 0).all()
    np.testing.assert_array_equal(data[:, :6, 10:], random_image(0)[:, 90:, :10])
    with pytest.raises(ValueError, match="boundless"):
        open_raster(image_tif).read(PixelWindow(-1, 0, 4, 4), boundless=False)
    data, valid = open_raster(image_tif).read(PixelWindow(500, 500, 4, 4))
    assert not valid.any() and not data.any()


def test_nodata_is_the_files_value_not_zero(tmp_path):
    image = random_image(1)
    image[:, 0, 0] = 0  # a real zero: valid
    image[:, 5:10, 5:10] = 255  # nodata
    src = open_raster(write_raster(tmp_path / "nd.tif", image, nodata=255))
    data, valid = src.read(FULL)
    assert valid[0, 0] and data[:, 0, 0].tolist() == [0, 0, 0]
    assert not valid[5:10, 5:10].any() and valid.sum() == 96 * 128 - 25
    assert (data[:, 5:10, 5:10] == 0).all()


def test_alpha_band_is_mask_and_not_a_default_band(tmp_path):
    alpha = np.full((96, 128), 255, np.uint8)
    alpha[:20] = 0
    src = open_raster(write_raster(tmp_path / "rgba.tif", random_image(2), alpha=alpha))
    assert src.bands == [1, 2, 3] and src.file_count == 4
    _, valid = src.read(FULL)
    np.testing.assert_array_equal(valid, alpha > 0)


def test_internal_mask(tmp_path):
    mask = np.ones((96, 128), bool)
    mask[:, 100:] = False
    src = open_raster(write_raster(tmp_path / "masked.tif", random_image(3), mask=mask))
    np.testing.assert_array_equal(src.read(FULL)[1], mask)


def test_nan_in_float_without_nodata_is_invalid(tmp_path):
    image = random_image(4).astype(np.float32)
    image[1, 3, 4] = np.nan
    image[0, 7, 7] = np.inf
    data, valid = open_raster(write_raster(tmp_path / "f.tif", image)).read(FULL)
    assert not valid[3, 4] and not valid[7, 7] and valid.sum() == 96 * 128 - 2
    assert np.isfinite(data).all()


def test_nan_nodata_in_float(tmp_path):
    image = random_image(5).astype(np.float32)
    image[:, 10, :] = np.nan
    src = open_raster(write_raster(tmp_path / "fnan.tif", image, nodata=np.nan))
    assert np.isnan(src.nodata)
    _, valid = src.read(FULL)
    assert not valid[10].any() and valid.sum() == 95 * 128


def test_all_nodata_input(tmp_path):
    src = open_raster(write_raster(tmp_path / "empty.tif", np.full((1, 96, 128), 7, np.uint16), nodata=7))
    data, valid = src.read(FULL)
    assert not valid.any() and not data.any()


def test_uint16_11bit_fixed_scaling(tmp_path):
    image = random_image(6, dtype="uint16", high=2047)
    src = open_raster(write_raster(tmp_path / "u16.tif", image), scaling={"method": "fixed", "low": 0, "high": 2047})
    data, _ = src.read(FULL)
    np.testing.assert_allclose(data, image / 2047.0, rtol=1e-6)


def test_rotated_and_south_up_bounds(tmp_path):
    south_up = Affine(0.5, 0, ORIGIN[0], 0, 0.5, ORIGIN[1])
    src = open_raster(write_raster(tmp_path / "south.tif", random_image(7), transform=south_up))
    assert src.bounds == (ORIGIN[0], ORIGIN[1], ORIGIN[0] + 64, ORIGIN[1] + 48)
    assert not src.is_north_up
    rotated = Affine.translation(*ORIGIN) @ Affine.rotation(30) @ Affine.scale(0.5, -0.5)
    src = open_raster(write_raster(tmp_path / "rot.tif", random_image(7), transform=rotated))
    assert src.res == pytest.approx((0.5, 0.5))
    corners = [rotated @ c for c in ((0, 0), (128, 0), (0, 96), (128, 96))]
    assert src.bounds.xmin == pytest.approx(min(x for x, _ in corners))
    assert src.bounds.ymax == pytest.approx(max(y for _, y in corners))


def test_pickled_source_reopens(image_tif):
    src = open_raster(image_tif, bands=[2])
    src.read(PixelWindow(0, 0, 4, 4))
    clone = pickle.loads(pickle.dumps(src))
    np.testing.assert_array_equal(clone.read(FULL)[0], src.read(FULL)[0])
    src.close()


# -- bad inputs: each error names the file and says how to fix it -----------------


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match="nope.tif.*does not exist.*Fix"):
        open_raster(tmp_path / "nope.tif")


def test_empty_file(tmp_path):
    (tmp_path / "zero.tif").write_bytes(b"")
    with pytest.raises(CorruptFileError, match="zero.tif.*0 bytes"):
        open_raster(tmp_path / "zero.tif")


def test_not_a_raster(tmp_path):
    (tmp_path / "junk.tif").write_text("this is not a tiff")
    with pytest.raises(CorruptFileError, match="junk.tif.*not a readable raster"):
        open_raster(tmp_path / "junk.tif")


def test_truncated_file(image_tif, tmp_path):
    truncated = tmp_path / "truncated.tif"
    truncated.write_bytes(image_tif.read_bytes()[: image_tif.stat().st_size // 2])
    with pytest.raises(CorruptFileError, match="truncated.tif.*truncated or corrupt"):
        open_raster(truncated)


def test_corrupt_tile_fails_on_read(tmp_path):
    path = write_raster(tmp_path / "image.tif", random_image(9, shape=(3, 192, 192)))
    src = open_raster(corrupt_tile(path))  # the middle tile of 3x3: corners are fine
    src.read(PixelWindow(0, 0, 64, 64))  # tile (0, 0) is fine
    with pytest.raises(CorruptFileError, match="image.tif.*corrupt or truncated tile"):
        src.read(PixelWindow(64, 64, 10, 10))


def test_no_georeference(tmp_path):
    path = write_raster(tmp_path / "plain.tif", random_image(8), crs=None, transform=Affine.identity())
    with pytest.raises(GeoreferenceError, match="plain.tif.*no georeference"):
        open_raster(path)


def test_transform_without_crs(tmp_path):
    path = write_raster(tmp_path / "nocrs.tif", random_image(8), crs=None)
    with pytest.raises(GeoreferenceError, match="nocrs.tif.*no CRS.*Fix"):
        open_raster(path)


@pytest.mark.parametrize("nodata", ["300", "-1", "0.5", "nan"])
def test_nodata_outside_dtype_range(tmp_path, image_tif, nodata):
    with pytest.raises(NodataError, match=f"bad_nodata.vrt.*{nodata}.*uint8"):
        open_raster(bad_nodata_vrt(tmp_path, image_tif, nodata))


def test_gdal_virtual_paths_skip_the_local_file_checks(image_tif):
    from rasterio.io import MemoryFile

    with MemoryFile(image_tif.read_bytes(), ext=".tif") as memfile:
        src = open_raster(memfile.name)  # "/vsimem/...": not a local path, opened by GDAL
        assert src.path.startswith("/vsimem/") and src.read(FULL)[1].all()
        src.close()


def test_package_exports_and_no_torch():
    import subprocess
    import sys

    code = (
        "import sys, geovision.io as io; io.open_raster; io.align_pair; io.write_cog; io.read_vectors; "
        "io.read_xbd_json; import geovision.cli.align; print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"

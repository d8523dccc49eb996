"""`geovision align`: outputs, and every bad input -> exit 2, one line naming the file, old outputs untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from geovision.cli.main import cli
from geovision.io.cog import validate_cog
from tests.rasters import ORIGIN

from .conftest import bad_nodata_vrt, corrupt_tile, random_image, write_raster

X0, Y0 = ORIGIN
OUTPUTS = ("pre.tif", "post.tif", "valid.tif")


def grid(dx_px: float = 0.0, dy_px: float = 0.0) -> Affine:
    return Affine(0.5, 0, X0 + 0.5 * dx_px, 0, -0.5, Y0 - 0.5 * dy_px)


def align(pre: Path, post: Path, out: Path, *extra: str):
    args = ["align", "--pre", str(pre), "--post", str(post), "--out", str(out), "--window-px", "64", *extra]
    return CliRunner().invoke(cli, args)


@pytest.fixture()
def pair(tmp_path) -> tuple[Path, Path]:
    """uint8 RGB pre without nodata; float post on the same grid, shifted 20x10 px, with a NaN hole."""
    pre = write_raster(tmp_path / "pre_in.tif", random_image(0, (3, 150, 200)), transform=grid())
    post_values = random_image(1, (3, 150, 200)).astype(np.float32)
    post_values[:, 50:60, 50:80] = np.nan
    post = write_raster(tmp_path / "post_in.tif", post_values, transform=grid(20, 10))
    return pre, post


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_align_writes_three_cogs_on_the_overlap(tmp_path, pair):
    pre, post = pair
    result = align(*pair, tmp_path / "out")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)  # no temp files left
    for name in OUTPUTS:
        assert validate_cog(out / name)
        with rasterio.open(out / name) as src:
            assert (src.width, src.height, src.crs.to_epsg()) == (180, 140, 32615)
            assert src.transform.almost_equals(grid(20, 10))
    with rasterio.open(out / "pre.tif") as src, rasterio.open(pre) as original:
        assert src.dtypes[0] == "uint8" and src.nodata is None
        np.testing.assert_array_equal(src.read(), original.read(window=((10, 150), (20, 200))))
        assert (src.dataset_mask() > 0).all()
    with rasterio.open(out / "post.tif") as src:
        assert src.dtypes[0] == "float32" and np.isnan(src.nodata)
        data = src.read()
        np.testing.assert_array_equal(np.isnan(data[0]), np.isnan(data).any(axis=0))
        assert np.isnan(data[0]).sum() == 10 * 30
    with rasterio.open(out / "valid.tif") as src:
        valid = src.read(1)
        assert valid.sum() == 180 * 140 - 10 * 30 and not valid[50:60, 50:80].any()
        assert src.colormap(1)[1] == (255, 255, 255, 255)


def test_align_to_coarser_resolution(tmp_path, pair):
    result = align(*pair, tmp_path / "out", "--res-m", "1.0", "--bands", "1,3")
    assert result.exit_code == 0, result.output
    with rasterio.open(tmp_path / "out" / "post.tif") as src:
        assert (src.res, src.count, src.width, src.height) == ((1.0, 1.0), 2, 90, 70)


@pytest.fixture()
def earlier_outputs(tmp_path, pair) -> Path:
    """An output folder holding a previous run's results."""
    out = tmp_path / "out"
    assert align(*pair, out).exit_code == 0
    return out


def _missing(tmp_path, pre, post):
    return tmp_path / "missing.tif", post, "missing.tif", "does not exist"


def _empty(tmp_path, pre, post):
    (tmp_path / "empty.tif").write_bytes(b"")
    return pre, tmp_path / "empty.tif", "empty.tif", "0 bytes"


def _truncated(tmp_path, pre, post):
    path = tmp_path / "truncated.tif"
    path.write_bytes(post.read_bytes()[: post.stat().st_size // 2])
    return pre, path, "truncated.tif", "truncated or corrupt"


def _corrupt_tile(tmp_path, pre, post):
    path = tmp_path / "corrupt.tif"
    shutil.copy(pre, path)
    return corrupt_tile(path), post, "corrupt.tif", "corrupt or truncated tile"


def _no_georeference(tmp_path, pre, post):
    path = write_raster(tmp_path / "plain.tif", random_image(2, (3, 150, 200)), crs=None, transform=Affine.identity())
    return pre, path, "plain.tif", "no georeference"


def _no_crs(tmp_path, pre, post):
    return write_raster(tmp_path / "nocrs.tif", random_image(2, (3, 150, 200)), crs=None), post, "nocrs.tif", "no CRS"


def _no_overlap(tmp_path, pre, post):
    far = write_raster(tmp_path / "far.tif", random_image(2, (3, 150, 200)), transform=grid(5000))
    return pre, far, "far.tif", "do not overlap"


def _bad_nodata(tmp_path, pre, post):
    return bad_nodata_vrt(tmp_path, pre, "-9999"), post, "bad_nodata.vrt", "does not fit"


def _band_mismatch(tmp_path, pre, post):
    """A 5-band post without colour interpretation or descriptions: which are red, green, blue is unknown."""
    five_bands = write_raster(tmp_path / "five.tif", random_image(3, (5, 150, 200)), transform=grid())
    return pre, five_bands, "five.tif", "cannot tell which of its 5 bands"


BAD_INPUTS = [
    _missing,
    _empty,
    _truncated,
    _corrupt_tile,
    _no_georeference,
    _no_crs,
    _no_overlap,
    _bad_nodata,
    _band_mismatch,
]


@pytest.mark.parametrize("make_bad", BAD_INPUTS, ids=lambda f: f.__name__.strip("_"))
def test_bad_input_exit_2_and_earlier_outputs_untouched(tmp_path, pair, earlier_outputs, make_bad):
    before = snapshot(earlier_outputs)
    pre, post, name, message = make_bad(tmp_path, *pair)
    result = align(pre, post, earlier_outputs, "--overwrite")
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert name in lines[0] and message in lines[0] and "Fix:" in lines[0]
    assert snapshot(earlier_outputs) == before


def test_wrong_band_selection(tmp_path, pair, earlier_outputs):
    before = snapshot(earlier_outputs)
    result = align(*pair, earlier_outputs, "--overwrite", "--bands", "1,2,5")
    assert result.exit_code == 2 and "pre_in.tif" in result.stderr and "between 1 and 3" in result.stderr
    assert snapshot(earlier_outputs) == before


def test_existing_outputs_need_overwrite(tmp_path, pair, earlier_outputs):
    before = snapshot(earlier_outputs)
    result = align(*pair, earlier_outputs)
    assert result.exit_code == 2
    assert "pre.tif" in result.stderr and "--overwrite" in result.stderr
    assert snapshot(earlier_outputs) == before
    assert align(*pair, earlier_outputs, "--overwrite").exit_code == 0


def test_pan_pre_needs_no_band_flag(tmp_path, pair):
    """A 1-band (pan-chromatic) pre with an RGB post: grey in every band, output bands named for `segment`."""
    pan = write_raster(tmp_path / "pan.tif", random_image(4, (1, 150, 200)), transform=grid())
    result = align(pan, pair[1], tmp_path / "out")
    assert result.exit_code == 0, result.output
    with rasterio.open(tmp_path / "out" / "pre.tif") as src:
        assert src.count == 3 and src.descriptions == ("red", "green", "blue")
        data = src.read()
        np.testing.assert_array_equal(data[0], data[2])

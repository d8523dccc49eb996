"""The one validity rule: nodata, an alpha band, an internal mask and NaN are no data in every reader."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely

from geovision.data.images import PlainImage
from geovision.data.targets import RasterTarget
from geovision.evaluate.rasters import aligned_windows
from geovision.impact.grid import block_sum
from geovision.impact.sources import ArraySource, FileSource
from geovision.impact.workflow import impact_stage, open_mask_lazy
from geovision.io.align import align_pair
from geovision.io.raster import open_raster
from geovision.io.validity import valid_pixels, valid_share
from geovision.types import PixelWindow
from tests.rasters import UTM, north_up, write_geotiff

SHAPE = (64, 96)  # 2 x 3 cells of 32 px
CELL = 32
FULL = PixelWindow(0, 0, SHAPE[1], SHAPE[0])
KINDS = ("nodata", "alpha", "internal_mask", "nan")


def _invalid() -> np.ndarray:
    """The pixels the rasters mark as no data: the top-left cell and a strip across two others."""
    region = np.zeros(SHAPE, bool)
    region[:32, :32] = True
    region[40:44, 40:90] = True
    return region


def _write(path, kind: str):
    """A feature-everywhere mask (uint8 1, float32 1.0 for NaN) whose :func:`_invalid` pixels are no data by ``kind``.

    (GDAL takes an alpha band as the mask only for Byte/UInt16 bands, as masks are.)
    """
    region = _invalid()
    values = np.ones(SHAPE, np.float32 if kind == "nan" else np.uint8)
    options: dict = {}
    if kind == "nodata":
        values[region], options["nodata"] = 255, 255
    elif kind == "alpha":
        options["alpha"] = np.where(region, 0, 255)
    elif kind == "internal_mask":
        options["mask"] = ~region
    else:
        values[region] = np.nan
    return write_geotiff(path, values, **options)


@pytest.fixture(params=KINDS)
def masked(request, tmp_path):
    return _write(tmp_path / f"{request.param}.tif", request.param)


def test_every_reader_marks_the_same_pixels(masked):
    expected = ~_invalid()
    with open_raster(masked, bands=[1]) as raster:
        assert (raster.read(FULL)[1] == expected).all()
        assert (raster.sample()[1] == expected).all()
    with FileSource(masked) as source:
        assert (source.read(FULL)[1] == expected).all()
    _, lazy = open_mask_lazy(masked, chunk_px=40)
    assert (lazy.to_numpy() == expected).all()
    (_, _, scored, _), *_ = aligned_windows(masked, masked)
    assert (scored == expected).all()
    assert (PlainImage(masked, bands=[1]).read(FULL)[1] == expected).all()
    assert (RasterTarget(masked, width=SHAPE[1], height=SHAPE[0]).read(FULL)[1] == expected).all()
    with align_pair(masked, masked, bands=[1], scaling="none", resampling="nearest") as pair:
        assert (pair.read(FULL)["valid"] == expected).all()
    assert valid_share(masked) == pytest.approx(expected.mean())


def test_the_dii_and_population_passes_agree(masked, tmp_path):
    """Every valid pixel is a lost building (post: nothing): valid pixels, f, c and persons follow one mask."""
    post = write_geotiff(tmp_path / "post.tif", np.zeros(SHAPE, np.uint8))
    census = tmp_path / "census.gpkg"
    (x0, y0), (x1, y1) = north_up() @ (0, 0), north_up() @ (SHAPE[1], SHAPE[0])
    gpd.GeoDataFrame({"pop": [1000.0]}, geometry=[shapely.box(x0, y1, x1, y0)], crs=UTM).to_file(census)
    out = impact_stage(masked, post, tmp_path / "out", cell_px=CELL, census=census)
    with rasterio.open(out.paths["cog"]) as src:
        bands = {name: src.read(i + 1) for i, name in enumerate(src.descriptions)}
    n_valid = block_sum(~_invalid(), CELL)
    assert n_valid[0, 0] == 0 and (bands["n_valid"] == n_valid).all()
    assert (bands["f"] == n_valid).all() and (bands["c"] == n_valid).all()
    np.testing.assert_allclose(bands["persons"], 1000.0 * n_valid / n_valid.sum(), rtol=1e-6)
    np.testing.assert_allclose(bands["persons_lost"], bands["persons"], rtol=1e-6)
    assert out.summary["population"]["persons"] == pytest.approx(1000.0)


def test_arrays_follow_the_rule_with_their_nodata():
    values = np.array([[1.0, np.nan, np.inf], [-np.inf, 7.0, 0.0]], np.float32)
    assert valid_pixels(values).tolist() == [[True, False, False], [False, True, True]]
    assert valid_pixels(values, nodata=7.0).tolist() == [[True, False, False], [False, False, True]]
    masks = np.array([[255, 255, 0], [255, 255, 255]], np.uint8)
    assert valid_pixels(values, masks).tolist() == [[True, False, False], [False, True, True]]
    source = ArraySource(values, nodata=0.0)
    assert source.read(PixelWindow(0, 0, 3, 2))[1].tolist() == [[True, False, False], [False, True, False]]

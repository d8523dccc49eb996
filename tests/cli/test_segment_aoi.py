"""`geovision segment --aoi`: outputs cover the AOI's bounding box, nodata outside its polygon."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import torch
from click.testing import CliRunner
from pyproj import Transformer

from geovision.cli.main import cli
from geovision.models.bundle import BundleMeta, DataSource, Normalization, TrainingInfo, save_bundle
from geovision.models.multitask import build_model
from geovision.models.spec import ModelSpec
from tests.rasters import write_geotiff

TINY = ModelSpec(encoder="tu-mobilenetv3_small_050", encoder_weights=None, decoder_channels=(16, 16, 8, 8, 8))
X0, Y0, RES = 365_000.0, 4_100_000.0, 0.5


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    torch.manual_seed(0)
    meta = BundleMeta(
        architecture=TINY,
        bands=("red", "green", "blue"),
        normalization=Normalization(mean=(127.5,) * 3, std=(127.5,) * 3),
        gsd_m=RES,
        thresholds={"buildings": 0.5, "roads": 0.5},
        training=TrainingInfo(data=[DataSource(name="none (random weights, test only)", licence="Apache-2.0")]),
    )
    return save_bundle(tmp_path_factory.mktemp("bundle") / "tiny", build_model(TINY, pretrained=False).eval(), meta)


def write_scene(path, seed: int):
    data = np.random.default_rng(seed).integers(1, 256, (3, 200, 240), dtype=np.uint8)
    return write_geotiff(path, data, res_m=RES, origin=(X0, Y0))


def px(col: float, row: float) -> tuple[float, float]:
    return X0 + col * RES, Y0 - row * RES


def test_segment_with_lonlat_aoi(tmp_path, bundle):
    pre, post = write_scene(tmp_path / "pre.tif", 1), write_scene(tmp_path / "post.tif", 2)
    triangle = shapely.Polygon([px(30, 40), px(130, 40), px(30, 160)])  # bbox: 100 x 120 px
    to_lonlat = Transformer.from_crs("EPSG:32615", "EPSG:4326", always_xy=True)
    lonlat = shapely.transform(
        shapely.segmentize(triangle, 1.0), lambda xy: np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1]))
    )
    aoi = tmp_path / "aoi.gpkg"
    gpd.GeoDataFrame(geometry=[lonlat], crs="EPSG:4326").to_file(aoi, engine="pyogrio")
    out = tmp_path / "out"
    args = [
        "segment",
        "--pre",
        str(pre),
        "--post",
        str(post),
        "--aoi",
        str(aoi),
        "--out",
        str(out),
        "--model",
        str(bundle),
        "--runtime",
        "fp32",
        "--device",
        "cpu",
        "--chip-px",
        "64",
        "--overlap-px",
        "8",
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "100x120 px" in result.output
    with rasterio.open(out / "valid.tif") as src:
        assert (src.width, src.height) == (100, 120)
        assert (src.transform.c, src.transform.f) == pytest.approx(px(30, 40), abs=1e-3)
        valid = src.read(1) > 0
        transform = src.transform
    cols, rows = np.meshgrid(np.arange(100) + 0.5, np.arange(120) + 0.5)
    inside = shapely.contains_xy(triangle, *(transform @ (cols, rows)))
    assert (valid != inside).sum() <= 2 and 0.3 < valid.mean() < 0.7
    for name in ("buildings_pre_mask", "roads_post_prob"):
        with rasterio.open(out / f"{name}.tif") as src:
            assert (src.width, src.height, src.nodata) == (100, 120, 255)
            data = src.read(1)
        assert (data[~valid] == 255).all() and (data[valid] != 255).all()


def test_segment_aoi_errors_exit_2(tmp_path, bundle):
    pre, post = write_scene(tmp_path / "pre.tif", 1), write_scene(tmp_path / "post.tif", 2)
    far = tmp_path / "far.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(*px(1000, 1000), *px(1100, 900))], crs="EPSG:32615").to_file(
        far, engine="pyogrio"
    )
    base = [
        "segment",
        "--pre",
        str(pre),
        "--post",
        str(post),
        "--out",
        str(tmp_path / "out"),
        "--model",
        str(bundle),
        "--runtime",
        "fp32",
        "--device",
        "cpu",
    ]
    result = CliRunner().invoke(cli, [*base, "--aoi", str(far)])
    assert result.exit_code == 2 and "far.geojson" in result.output and "AOI does not overlap" in result.output
    result = CliRunner().invoke(cli, [*base, "--aoi", str(tmp_path / "missing.gpkg")])
    assert result.exit_code == 2 and "missing.gpkg" in result.output and "Fix:" in result.output

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from click.testing import CliRunner

from geovision.cli.main import cli
from tests.rasters import write_geotiff

from .conftest import TRANSFORM, UTM, blocks_mask


@pytest.fixture
def scene(tmp_path, rng):
    pre = blocks_mask((256, 384), rng, n=150, size=10)
    post = pre.copy()
    post[:128, :128] = 0
    valid = np.ones(pre.shape, np.uint8)
    valid[:, 352:] = 0
    pop = np.full((4, 6), 25.0, np.float32)
    paths = {
        "pre": write_geotiff(tmp_path / "pre.tif", pre, transform=TRANSFORM),
        "post": write_geotiff(tmp_path / "post.tif", post, transform=TRANSFORM),
        "valid": write_geotiff(tmp_path / "valid.tif", valid, transform=TRANSFORM),
        "pop": write_geotiff(tmp_path / "pop.tif", pop, transform=Affine(32, 0, TRANSFORM.c, 0, -32, TRANSFORM.f)),
    }
    census = gpd.GeoDataFrame(
        {"name": ["a", "b"], "people": [300, 500]},
        crs=UTM,
        geometry=[
            shapely.box(TRANSFORM.c, TRANSFORM.f - 128, TRANSFORM.c + 96, TRANSFORM.f),
            shapely.box(TRANSFORM.c + 96, TRANSFORM.f - 128, TRANSFORM.c + 192, TRANSFORM.f),
        ],
    ).to_crs(4326)
    census.to_file(tmp_path / "census.geojson")
    paths["census"] = tmp_path / "census.geojson"
    return paths


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_impact_with_valid_mask_cell_m_and_pop_raster(scene, tmp_path):
    out = tmp_path / "out"
    result = _invoke(
        "impact",
        "--pre-mask",
        scene["pre"],
        "--post-mask",
        scene["post"],
        "--valid",
        scene["valid"],
        "--cell-m",
        64,
        "--theta",
        0.3,
        "--pop-raster",
        scene["pop"],
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "buildings_summary.json").read_text())
    assert summary["cell_px"] == 128 and summary["cells"] == 6
    assert summary["population"]["persons"] == pytest.approx(24 * 25.0, rel=1e-6)  # clouds hide no people
    with rasterio.open(out / "buildings_impact.tif") as src:
        names = list(src.descriptions)
        dii = src.read(names.index("dii") + 1)
    assert dii[0, 0] > 0.3 and np.isfinite(dii).sum() == 6


def test_impact_with_census_in_another_crs(scene, tmp_path):
    result = _invoke(
        "impact",
        "--pre-mask",
        scene["pre"],
        "--post-mask",
        scene["post"],
        "--census",
        scene["census"],
        "--pop-field",
        "people",
        "--cell-px",
        128,
        "--out",
        tmp_path / "out",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "buildings_summary.json").read_text())
    assert summary["population"]["persons"] == pytest.approx(800, rel=1e-6)
    assert 0 < summary["population"]["persons_lost"] < 300


def test_impact_intervals(scene, tmp_path):
    base = [
        "impact",
        "--pre-mask",
        scene["pre"],
        "--post-mask",
        scene["post"],
        "--census",
        scene["census"],
        "--pop-field",
        "people",
        "--cell-px",
        128,
    ]
    sample = tmp_path / "validation.csv"
    sample.write_text("pred,true\n10,12\n20,19\n0,1\n30,40\n5,5\n")
    result = _invoke(*base, "--interval", "validation", "--validation-sample", sample, "--out", tmp_path / "v")
    assert result.exit_code == 0, result.output
    totals = json.loads((tmp_path / "v" / "buildings_summary.json").read_text())["population"]
    assert totals["persons_lost_low"] < totals["persons_lost_calibrated"] < totals["persons_lost_high"]
    assert totals["persons_lost_calibrated"] == pytest.approx(totals["persons_lost"] * 77 / 65)
    import geopandas as gpd

    grid = gpd.read_file(tmp_path / "v" / "buildings_impact.gpkg")
    assert {"persons_lost_low", "persons_lost_high"} <= set(grid.columns)
    result = _invoke(*base, "--interval", "model", "--out", tmp_path / "m")
    assert result.exit_code == 0, result.output
    totals = json.loads((tmp_path / "m" / "buildings_summary.json").read_text())["population"]
    assert totals["persons_lost_low"] <= totals["persons_lost_expected"] <= totals["persons_lost_high"]
    assert totals["persons_lost_expected"] == pytest.approx(totals["persons_lost"], rel=0.05)  # 0/1 masks
    bad = _invoke(*base, "--interval", "validation", "--out", tmp_path / "b")
    assert bad.exit_code == 2 and "validation sample" in bad.output


def test_population_command(scene, tmp_path):
    out = tmp_path / "dens.tif"
    result = _invoke(
        "population",
        "--census",
        scene["census"],
        "--pop-field",
        "people",
        "--buildings",
        scene["pre"],
        "--res-m",
        8,
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    with rasterio.open(out) as src:
        assert src.res == (8.0, 8.0) and np.nansum(src.read(1)) == pytest.approx(800, rel=1e-6)
    assert (tmp_path / "dens_units.csv").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["impact", "--pre-mask", "missing.tif", "--post-mask", "missing.tif", "--out", "o"], "does not exist"),
        (["population", "--census", "c.gpkg", "--out", "o.tif"], "--buildings"),
        (["population", "--out", "o.tif"], "exactly one"),
    ],
)
def test_bad_input_exits_2(tmp_path, args, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _invoke(*args)
    assert result.exit_code == 2 and message in result.output


def test_exclusive_sources_and_existing_output(scene, tmp_path):
    result = _invoke(
        "impact",
        "--pre-mask",
        scene["pre"],
        "--post-mask",
        scene["post"],
        "--census",
        scene["census"],
        "--pop-raster",
        scene["pop"],
        "--out",
        tmp_path / "o",
    )
    assert result.exit_code == 2 and "exclusive" in result.output
    args = ["impact", "--pre-mask", scene["pre"], "--post-mask", scene["post"], "--out", tmp_path / "o"]
    assert _invoke(*args).exit_code == 0
    again = _invoke(*args)
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert _invoke(*args, "--overwrite").exit_code == 0
    shifted = write_geotiff(
        tmp_path / "shifted.tif", np.zeros((256, 384), np.uint8), transform=TRANSFORM @ Affine.translation(3, 0)
    )
    bad = _invoke("impact", "--pre-mask", scene["pre"], "--post-mask", shifted, "--out", tmp_path / "p")
    assert bad.exit_code == 2 and "one grid" in bad.output

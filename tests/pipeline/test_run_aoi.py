"""`geovision run --aoi`: every stage covers only the AOI; a changed AOI re-runs the stages."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import rasterio
import shapely
import yaml
from click.testing import CliRunner

from geovision.catalog import load_catalog
from geovision.cli.main import cli
from geovision.pipeline.events import materialise

STAGES = ("inputs", "reference", "segment", "vectorize", "impact_buildings", "impact_roads", "evaluate", "report")


@pytest.fixture
def event(tmp_path, monkeypatch):
    """The catalog path and the materialised inputs of a 512 x 512 px synthetic event."""
    monkeypatch.setenv("GEOVISION_CACHE", str(tmp_path / "cache"))
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "events": {
                    "mini": {
                        "title": "mini synthetic",
                        "kind": "synthetic",
                        "licence": "CC0",
                        "synth": {"width": 512, "height": 512, "seed": 5, "event": "tornado"},
                    }
                },
            }
        )
    )
    return catalog, materialise("mini", load_catalog(catalog))


def write_aoi(path, pre_tif, cols: tuple[int, int], rows: tuple[int, int], crs: str = "EPSG:4326"):
    """A hexagon-ish polygon inside pixel columns/rows of ``pre_tif``, saved in ``crs``."""
    with rasterio.open(pre_tif) as src:
        transform, image_crs = src.transform, src.crs
    (c0, c1), (r0, r1) = cols, rows
    cm, rm = (c0 + c1) / 2, (r0 + r1) / 2
    corners = [(c0, rm), (cm, r0), (c1, r0), (c1, rm), (cm, r1), (c0, r1)]
    polygon = shapely.Polygon([transform @ corner for corner in corners])
    gpd.GeoDataFrame(geometry=[polygon], crs=image_crs).to_crs(crs).to_file(path, engine="pyogrio")
    return path


def _run(*args):
    return CliRunner().invoke(cli, ["run", *args], catch_exceptions=False)


def test_run_event_with_aoi_and_rerun_on_changed_aoi(tmp_path, bundle, event):
    catalog, inputs = event
    aoi = write_aoi(tmp_path / "aoi.geojson", inputs.pre, (64, 448), (128, 384))
    out = tmp_path / "out"
    args = [
        "mini",
        "--catalog",
        str(catalog),
        "--aoi",
        str(aoi),
        "--out",
        str(out),
        "--model",
        str(bundle),
        "--cell-px",
        "64",
        "--runtime",
        "fp32",
    ]
    result = _run(*args)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())
    assert {name: stage["status"] for name, stage in record["stages"].items()} == {
        "adapt": "skipped",
        **{s: "done" for s in STAGES},
    }
    assert record["inputs"]["aoi"] == str(aoi) and "aoi" in record["inputs"]["sha256"]
    for path in (out / "masks" / "valid.tif", out / "reference" / "truth_buildings_pre.tif"):
        with rasterio.open(path) as src:
            assert (src.width, src.height) == (384, 256), path
            valid = src.read(1) != (255 if src.nodata == 255 else 0)
        assert not valid[0, 0] and not valid[-1, -1] and valid[128, 192]  # cut corners are outside
    assert 0.0 <= record["stages"]["evaluate"]["figures"]["f1"] <= 1.0
    assert record["stages"]["impact_buildings"]["figures"]["cells"] == 6 * 4
    assert "population" in record["stages"]["impact_buildings"]["figures"]

    write_aoi(tmp_path / "aoi.geojson", inputs.pre, (64, 320), (128, 384))  # same file, new shape
    again = _run(*args)
    assert again.exit_code == 0, again.output
    stages = json.loads((out / "run.json").read_text())["stages"]
    assert not any(stages[name]["reason"].startswith("resumed") for name in ("reference", "segment", "evaluate"))
    with rasterio.open(out / "masks" / "valid.tif") as src:
        assert (src.width, src.height) == (256, 256)


def test_run_pre_post_with_aoi_and_bad_aoi(tmp_path, bundle, event):
    _, inputs = event
    aoi = write_aoi(tmp_path / "aoi.gpkg", inputs.pre, (0, 200), (300, 512), crs="EPSG:32615")
    out = tmp_path / "out"
    base = [
        "--pre",
        str(inputs.pre),
        "--post",
        str(inputs.post),
        "--model",
        str(bundle),
        "--cell-px",
        "64",
        "--runtime",
        "fp32",
    ]
    result = _run(*base, "--census", str(inputs.census), "--aoi", str(aoi), "--out", str(out))
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())
    assert record["stages"]["impact_buildings"]["status"] == "done"
    assert record["stages"]["reference"]["status"] == "skipped"
    with rasterio.open(out / "masks" / "buildings_post_mask.tif") as src:
        assert (src.width, src.height) == (200, 212)
    bad = tmp_path / "lines.geojson"
    gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])], crs="EPSG:4326").to_file(bad, engine="pyogrio")
    result = CliRunner().invoke(cli, ["run", *base, "--aoi", str(bad), "--out", str(tmp_path / "bad")])
    assert result.exit_code == 2 and "lines.geojson" in result.output and "no polygon" in result.output
    assert not (tmp_path / "bad").exists()

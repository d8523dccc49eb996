"""`geovision run` end to end on a small synthetic event with a tiny random-weight bundle."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import yaml
from click.testing import CliRunner

from geovision.cli.main import cli
from geovision.io.cog import validate_cog
from tests.rasters import write_geotiff


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    path = tmp_path_factory.mktemp("catalog") / "catalog.yaml"
    path.write_text(
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
    return path


def _run(*args):
    return CliRunner().invoke(cli, ["run", *args], catch_exceptions=False)


def test_run_event_end_to_end_and_resume(tmp_path, monkeypatch, bundle, catalog):
    monkeypatch.setenv("GEOVISION_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    args = [
        "mini",
        "--catalog",
        str(catalog),
        "--out",
        str(out),
        "--model",
        str(bundle),
        "--cell-px",
        "128",
        "--runtime",
        "fp32",
    ]
    result = _run(*args)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())
    statuses = {name: stage["status"] for name, stage in record["stages"].items()}
    assert statuses == {
        "adapt": "skipped",
        **{
            name: "done"
            for name in (
                "inputs",
                "reference",
                "segment",
                "vectorize",
                "impact_buildings",
                "impact_roads",
                "evaluate",
                "report",
            )
        },
    }, statuses
    assert set(record["inputs"]["sha256"]) >= {"pre", "post", "census"}
    for name in ("buildings_pre_mask", "roads_post_prob", "valid"):
        path = out / "masks" / f"{name}.tif"
        assert validate_cog(path)
        with rasterio.open(path) as src:
            assert (src.width, src.height) == (512, 512)
    assert (out / "vectors" / "buildings.gpkg").exists()
    assert (out / "impact" / "buildings_impact.tif").exists() and (out / "impact" / "roads_impact.gpkg").exists()
    assert 0.0 <= record["stages"]["evaluate"]["figures"]["f1"] <= 1.0
    assert record["stages"]["reference"]["figures"]["cells_defined"] > 0
    bands = record["stages"]["segment"]["figures"]["bands"]  # the automatic band choice, per date
    assert set(bands) == {"pre", "post"} and bands["pre"]["model_bands"] == ["red", "green", "blue"]
    assert len(bands["post"]["file_bands"]) == 3 and bands["post"]["reason"]

    again = _run(*args)
    assert again.exit_code == 0, again.output
    resumed = json.loads((out / "run.json").read_text())["stages"]
    assert all(stage["reason"].startswith("resumed") for stage in resumed.values() if stage["status"] == "done")
    assert resumed["adapt"]["status"] == "skipped"  # no --adapt-with


def test_run_refuses_foreign_folder_and_bad_arguments(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    image = tmp_path / "a.tif"
    write_geotiff(image, np.full((3, 64, 64), 100, np.uint8), origin=(0.0, 0.0))
    result = CliRunner().invoke(cli, ["run", "--pre", str(image), "--post", str(image), "--out", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (out / "notes.txt").read_text() == "mine"
    result = CliRunner().invoke(cli, ["run", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "EVENT" in result.output


def test_network_only_event_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOVISION_CACHE", str(tmp_path / "cache"))
    result = CliRunner().invoke(cli, ["run", "santa-rosa-fire-2017", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "network" in result.output

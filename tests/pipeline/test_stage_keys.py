"""Stage cache keys follow exactly what a stage depends on (issue 15: wrong reruns)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import shapely
from click.testing import CliRunner

from geovision.cli.main import cli
from tests.rasters import write_geotiff


def write_image(path, seed: int):
    data = np.random.default_rng(seed).integers(1, 255, (3, 256, 256), dtype=np.uint8)
    return write_geotiff(path, data, nodata=0, origin=(365000, 4100000))


def write_census(path, pop: int, people: int):
    units = [shapely.box(365000, 4099936, 365064, 4100000), shapely.box(365064, 4099936, 365128, 4100000)]
    gpd.GeoDataFrame({"pop": [pop, 7], "people": [people, 3]}, geometry=units, crs="EPSG:32615").to_file(path)
    return path


def rerun_reasons(args) -> dict[str, str]:
    result = CliRunner().invoke(cli, ["run", *map(str, args)])
    assert result.exit_code == 0, result.output
    stages = json.loads((args[args.index("--out") + 1] / "run.json").read_text())["stages"]
    return {name: stage["reason"] for name, stage in stages.items()}


def test_a_census_edit_reruns_the_population_not_the_segmentation(tmp_path, bundle):
    pre, post = write_image(tmp_path / "pre.tif", 1), write_image(tmp_path / "post.tif", 2)
    census = write_census(tmp_path / "census.gpkg", pop=100, people=50)
    args = ["--pre", pre, "--post", post, "--census", census, "--out", tmp_path / "out", "--model", bundle]
    rerun_reasons(args)
    write_census(census, pop=200, people=50)
    reasons = rerun_reasons(args)
    assert reasons["segment"].startswith("resumed") and not reasons["impact_buildings"].startswith("resumed")
    reasons = rerun_reasons([*args, "--pop-field", "people"])  # same file, another column: new figures
    assert reasons["segment"].startswith("resumed") and not reasons["impact_buildings"].startswith("resumed")
    assert rerun_reasons([*args, "--pop-field", "people"])["impact_buildings"].startswith("resumed")


def test_a_bundle_retrained_in_place_is_a_new_model(tmp_path, bundle):
    import shutil

    import torch

    from geovision.models.bundle import load_bundle, save_bundle

    own = tmp_path / "model"
    shutil.copytree(bundle, own)
    pre, post = write_image(tmp_path / "pre.tif", 1), write_image(tmp_path / "post.tif", 2)
    args = ["--pre", pre, "--post", post, "--out", tmp_path / "out", "--model", own]
    rerun_reasons(args)
    loaded = load_bundle(own)
    with torch.no_grad():
        for parameter in loaded.model.parameters():
            parameter.add_(0.01)
    shutil.rmtree(own)
    save_bundle(own, loaded.model, loaded.meta)  # same folder, other weights
    assert not rerun_reasons(args)["segment"].startswith("resumed")

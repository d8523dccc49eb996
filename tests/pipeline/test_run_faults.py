"""`geovision run` under bad inputs and faults (issue 17): exit 2 with one line naming the file, nothing lost."""

from __future__ import annotations

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

TRANSFORM = Affine(0.5, 0, 365000, 0, -0.5, 4100000)


def write_image(path, *, seed: int, nodata_rows: int = 0, size: int = 256):
    data = np.random.default_rng(seed).integers(1, 255, (3, size, size), dtype=np.uint8)
    data[:, :nodata_rows] = 0
    return write_geotiff(path, data, nodata=0, transform=TRANSFORM)


@pytest.fixture
def images(tmp_path):
    return write_image(tmp_path / "pre.tif", seed=1), write_image(tmp_path / "post.tif", seed=2)


def run(*args):
    result = CliRunner().invoke(cli, ["run", *map(str, args)])
    assert not (result.exception and not isinstance(result.exception, SystemExit)), result.output
    return result


def one_line_error(result, *needles):
    assert result.exit_code == 2, result.output
    error = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and "Traceback" not in result.output, result.output
    for needle in needles:
        assert needle in error[0], error[0]
    return error[0]


def test_a_finished_run_of_other_images_is_not_replaced(tmp_path, images, bundle):
    pre, post = images
    out = tmp_path / "out"
    assert run("--pre", pre, "--post", post, "--out", out, "--model", bundle).exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.tif")}
    write_image(post, seed=3)  # same path, new content
    one_line_error(
        run("--pre", pre, "--post", post, "--out", out, "--model", bundle), "post image changed", "--overwrite"
    )
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.tif")} == before
    assert run("--pre", pre, "--post", post, "--out", out, "--model", bundle, "--overwrite").exit_code == 0


def test_a_failed_rerun_keeps_the_finished_runs_record(tmp_path, images, bundle, monkeypatch):
    pre, post = images
    out = tmp_path / "out"
    assert run("--pre", pre, "--post", post, "--out", out, "--model", bundle).exit_code == 0
    finished = json.loads((out / "run.json").read_text())

    from geovision.errors import ConfigError
    from geovision.impact import workflow

    def broken(*args, **kwargs):
        raise ConfigError("injected failure")

    monkeypatch.setattr(workflow, "impact_stage", broken)
    one_line_error(
        run("--pre", pre, "--post", post, "--out", out, "--model", bundle, "--theta", "0.2"), "injected failure"
    )
    assert json.loads((out / "run.previous.json").read_text())["figures"] == finished["figures"]
    assert json.loads((out / "run.json").read_text())["stages"]["impact_buildings"]["status"] == "failed"
    monkeypatch.undo()
    assert run("--pre", pre, "--post", post, "--out", out, "--model", bundle, "--theta", "0.2").exit_code == 0
    assert not (out / "run.previous.json").exists()


def test_an_all_nodata_image_is_an_error_before_anything_is_written(tmp_path, images, bundle):
    pre, post = images
    write_image(pre, seed=1, nodata_rows=256)
    one_line_error(
        run("--pre", pre, "--post", post, "--out", tmp_path / "out", "--model", bundle), str(pre), "no valid pixel"
    )
    assert not (tmp_path / "out").exists()


def test_a_mostly_empty_image_is_reported(tmp_path, images, bundle):
    pre, post = images
    write_image(pre, seed=1, nodata_rows=200)
    result = run("--pre", pre, "--post", post, "--out", tmp_path / "out", "--model", bundle)
    assert result.exit_code == 0, result.output
    assert "only 22 % of the pre-event image holds data" in result.output
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["stages"]["inputs"]["figures"]["valid_share"]["pre"] == pytest.approx(56 / 256, abs=0.01)


@pytest.mark.parametrize(
    "option, value, needle",
    [
        ("--model", "no-such-folder", "no model bundle"),
        ("--theta", "nan", "--theta"),
        ("--theta", "-1", "--theta"),
        ("--cell-px", "0", "--cell-px"),
    ],
)
def test_bad_options_are_refused_before_any_stage(tmp_path, images, bundle, option, value, needle):
    pre, post = images
    args = ["--pre", pre, "--post", post, "--out", tmp_path / "out", option, value]
    one_line_error(run(*args, *([] if option == "--model" else ["--model", bundle])), needle)
    assert not (tmp_path / "out").exists()


def test_census_problems_name_the_file_before_segmentation(tmp_path, images, bundle):
    pre, post = images
    census = tmp_path / "census.gpkg"
    with rasterio.open(pre) as src:
        box = shapely.box(*src.bounds)
    gpd.GeoDataFrame({"people": [10]}, geometry=[box], crs="EPSG:32615").to_file(census)
    one_line_error(
        run("--pre", pre, "--post", post, "--census", census, "--out", tmp_path / "a", "--model", bundle),
        str(census),
        "'pop'",
        "--pop-field",
    )
    empty = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"pop": []}, geometry=[], crs="EPSG:32615").to_file(empty)
    one_line_error(
        run("--pre", pre, "--post", post, "--census", empty, "--out", tmp_path / "b", "--model", bundle),
        str(empty),
        "no units",
    )
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_second_run_into_the_same_folder_is_refused(tmp_path, images, bundle):
    from filelock import FileLock

    pre, post = images
    out = tmp_path / "out"
    out.mkdir()
    with FileLock(out / ".geovision.lock"):  # another process would hold it the same way
        one_line_error(run("--pre", pre, "--post", post, "--out", out, "--model", bundle), "another geovision run")


def test_a_corrupt_run_record_is_a_clear_error(tmp_path, images, bundle):
    pre, post = images
    out = tmp_path / "out"
    out.mkdir()
    for text in ("", "{not json", "[1, 2]"):
        (out / "run.json").write_text(text)
        one_line_error(run("--pre", pre, "--post", post, "--out", out, "--model", bundle), "run.json", "--overwrite")
    assert run("--pre", pre, "--post", post, "--out", out, "--model", bundle, "--overwrite").exit_code == 0


def test_resume_is_accepted_and_stale_temp_files_are_removed(tmp_path, images, bundle):
    pre, post = images
    out = tmp_path / "out"
    assert run("--pre", pre, "--post", post, "--out", out, "--model", bundle).exit_code == 0
    stale = out / "masks" / ".buildings_pre_prob.0123abcd.tmp.tif"  # what a killed COG writer leaves
    stale.write_bytes(b"x" * 1000)
    assert run("--pre", pre, "--post", post, "--out", out, "--model", bundle, "--resume").exit_code == 0
    assert not stale.exists()
    one_line_error(run("--pre", pre, "--post", post, "--out", out, "--resume", "--overwrite"), "contradict")

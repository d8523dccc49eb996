"""A `files` event's per-source catalog fields (bands, scaling, crs) reach the run and the segment stage."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import rasterio
import yaml
from click.testing import CliRunner

from geovision.catalog import load_catalog
from geovision.errors import ConfigError, GeoreferenceError
from geovision.inference.sources import SourceSpec
from geovision.io.raster import open_raster
from geovision.io.scaling import Scaling
from geovision.pipeline import stages
from geovision.pipeline.events import EventInputs, materialise
from geovision.pipeline.run import Run, RunConfig
from geovision.runrecord import RunRecord
from geovision.types import PixelWindow
from tests.rasters import write_geotiff


def write_tif(path, *, crs: str | None = "EPSG:32615", seed: int = 0):
    """A 4-band 11-bit (uint16) 64 x 64 GeoTIFF at 0.5 m; ``crs`` None writes none."""
    data = np.random.default_rng(seed).integers(0, 2048, (4, 64, 64), dtype=np.uint16)
    return write_geotiff(path, data, crs=crs, origin=(365000, 4100000))


def write_catalog(tmp_path, pre: dict | None = None, post: dict | None = None, *, pre_crs: str | None = "EPSG:32615"):
    """A catalog with the `files` event `ev` whose pre/post sources carry the given extra fields."""
    write_tif(tmp_path / "pre.tif", crs=pre_crs, seed=1)
    write_tif(tmp_path / "post.tif", seed=2)
    event = {
        "title": "files",
        "kind": "files",
        "licence": "CC0",
        "pre": {"path": "pre.tif", **(pre or {})},
        "post": {"path": "post.tif", **(post or {})},
    }
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "events": {"ev": event}}))
    return path


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOVISION_CACHE", str(tmp_path / "cache"))


ELEVEN_BIT = {"method": "fixed", "low": 0, "high": 2047}


def test_bands_scaling_and_crs_reach_the_inputs(tmp_path):
    fields = {"bands": [3, 2, 1], "scaling": ELEVEN_BIT}
    catalog = write_catalog(tmp_path, {**fields, "crs": "EPSG:32615"}, fields, pre_crs=None)
    inputs = materialise("ev", load_catalog(catalog))
    assert inputs.bands == (3, 2, 1)
    assert inputs.scaling == Scaling(method="fixed", low=0.0, high=2047.0)
    assert inputs.pre.suffix == ".vrt" and inputs.post == tmp_path / "post.tif"
    with pytest.raises(GeoreferenceError, match="no CRS"):
        open_raster(tmp_path / "pre.tif")
    with open_raster(inputs.pre, bands=list(inputs.bands), scaling=inputs.scaling) as raster:
        assert raster.crs.to_epsg() == 32615
        image, valid = raster.read(PixelWindow(0, 0, 64, 64))
    with rasterio.open(tmp_path / "pre.tif") as src:
        expected = src.read([3, 2, 1]).astype(np.float32) / 2047
    assert valid.all()
    np.testing.assert_allclose(image, expected, rtol=1e-5)
    record = json.loads(json.dumps(inputs.to_json()))
    assert record["scaling"]["method"] == "fixed" and record["scaling"]["high"] == 2047 and record["bands"] == [3, 2, 1]


def test_defaults_keep_the_files_bands_and_the_inference_scaling(tmp_path):
    catalog = write_catalog(tmp_path)
    inputs = materialise("ev", load_catalog(catalog))
    assert inputs.bands is None and inputs.scaling is None
    assert inputs.pre == tmp_path / "pre.tif"
    assert json.loads(json.dumps(inputs.to_json()))["scaling"] is None


def test_a_bare_method_name_is_a_scaling(tmp_path):
    catalog = write_catalog(tmp_path, {"scaling": "percentile"}, {"scaling": "percentile"})
    assert materialise("ev", load_catalog(catalog)).scaling == Scaling(method="percentile")


def test_crs_override_of_a_file_with_a_wrong_crs(tmp_path):
    catalog = write_catalog(tmp_path, {"crs": "EPSG:32616"})
    inputs = materialise("ev", load_catalog(catalog))
    with open_raster(inputs.pre) as raster:
        assert raster.crs.to_epsg() == 32616 and raster.count == 4


@pytest.mark.parametrize(
    "pre, post, key",
    [
        ({"bands": [1, 2, 3]}, {"bands": [3, 2, 1]}, "bands"),
        ({"bands": [1, 2, 3]}, {}, "bands"),
        ({"scaling": ELEVEN_BIT}, {"scaling": "to8bit"}, "scaling"),
        ({"scaling": ELEVEN_BIT}, {}, "scaling"),
    ],
)
def test_pre_and_post_must_agree(tmp_path, pre, post, key):
    catalog = write_catalog(tmp_path, pre, post)
    message = rf"catalog\.yaml: event `ev`: pre\.{key} and post\.{key} differ.*Fix: give the same"
    with pytest.raises(ConfigError, match=message):
        materialise("ev", load_catalog(catalog))


@pytest.mark.parametrize(
    "scaling, message",
    [
        ({"method": "range"}, r"pre\.scaling\.method"),
        ("stretchy", r"pre\.scaling\.method"),
        ({"method": "fixed"}, r"needs both 'low' and 'high'"),
        ({"method": "percentile", "percentiles": [98, 2]}, r"not 0 <= low < high <= 100"),
        ({"method": "to8bit", "gamma": 2}, r"pre\.scaling\.gamma"),
    ],
)
def test_bad_scaling_is_an_error_at_load_naming_the_file(tmp_path, scaling, message):
    catalog = write_catalog(tmp_path, {"scaling": scaling})
    with pytest.raises(ConfigError, match=rf"catalog\.yaml: .*{message}"):
        load_catalog(catalog)


def test_bad_crs_is_an_error_at_load(tmp_path):
    with pytest.raises(ConfigError, match=r"catalog\.yaml: .*unknown CRS 'EPSG:0'"):
        load_catalog(write_catalog(tmp_path, {"crs": "EPSG:0"}))


def _segment_key(tmp_path, inputs: EventInputs) -> str:
    """The segment stage's resume key for ``inputs`` (no model here: the stage is skipped, its key kept)."""
    run = Run(inputs, tmp_path / "out", RunConfig(segment={"model": str(tmp_path / "no-bundle")}))
    record = stages.segment(run)
    assert record.status == "skipped"
    return record.key


def test_segment_stage_gets_bands_and_scaling_and_a_changed_scaling_reruns_it(tmp_path):
    fields = {"bands": [3, 2, 1], "scaling": ELEVEN_BIT}
    inputs = materialise("ev", load_catalog(write_catalog(tmp_path, fields, fields)))
    spec = stages.segment_source(Run(inputs, tmp_path / "out", RunConfig()))
    assert spec.bands == (3, 2, 1) and spec.scaling == Scaling(method="fixed", low=0.0, high=2047.0)
    assert pickle.loads(pickle.dumps(spec)) == spec  # Dask workers get it pickled
    assert spec.input_scaling == replace(spec.scaling, out_max=255.0)  # the model's 8-bit units
    keys = {_segment_key(tmp_path, inputs)}
    keys.add(_segment_key(tmp_path, replace(inputs, scaling=Scaling(method="percentile"))))
    keys.add(_segment_key(tmp_path, replace(inputs, scaling=None)))
    assert len(keys) == 3


def test_source_spec_reads_with_a_scaling_object(tmp_path):
    path = str(write_tif(tmp_path / "a.tif"))
    spec = SourceSpec(pre=path, bands=(1,), scaling=Scaling(method="fixed", low=0.0, high=2047.0))
    images, _ = spec.open().read(PixelWindow(0, 0, 64, 64))
    with rasterio.open(path) as src:
        np.testing.assert_allclose(images["scene"][0], src.read(1) / 2047 * 255, rtol=1e-5)
    assert SourceSpec(pre=path).input_scaling == Scaling(method="to8bit", out_max=255.0)


def test_segment_stage_runs_on_the_catalog_sources(tmp_path, bundle, monkeypatch):
    import geovision.inference.engine as engine

    seen, original = [], engine.segment_scene

    def spy(source_spec, *args, **kwargs):
        seen.append(source_spec)
        return original(source_spec, *args, **kwargs)

    monkeypatch.setattr(engine, "segment_scene", spy)
    fields = {"bands": [3, 2, 1], "scaling": ELEVEN_BIT}
    inputs = materialise(
        "ev", load_catalog(write_catalog(tmp_path, {**fields, "crs": "EPSG:32615"}, fields, pre_crs=None))
    )
    segment = {"model": str(bundle), "runtime": "fp32", "chip_px": 64, "overlap_px": 0}
    run = Run(inputs, tmp_path / "out", RunConfig(segment=segment))
    record = stages.segment(run)
    assert record.status == "done", record.reason
    assert seen[0].bands == (3, 2, 1) and seen[0].scaling == inputs.scaling and seen[0].pre.endswith(".vrt")
    with rasterio.open(run.out / "masks" / "valid.tif") as mask:
        assert mask.crs.to_epsg() == 32615 and (mask.width, mask.height) == (64, 64)


def test_cli_bands_win_over_the_catalog(tmp_path, monkeypatch):
    import geovision.pipeline.run as pipeline_run
    from geovision.cli.main import cli

    seen = {}

    def fake_run(inputs, out, config, **_):
        seen["inputs"] = inputs
        out.mkdir(parents=True, exist_ok=True)
        return SimpleNamespace(stages={}, out=out, record=RunRecord())

    monkeypatch.setattr(pipeline_run, "run_pipeline", fake_run)
    fields = {"bands": [3, 2, 1], "scaling": ELEVEN_BIT}
    catalog = write_catalog(tmp_path, fields, fields)
    base = ["run", "ev", "--catalog", str(catalog), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(cli, base, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert seen["inputs"].bands == (3, 2, 1) and seen["inputs"].scaling.high == 2047
    result = CliRunner().invoke(cli, [*base, "--bands", "1,2,4"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert seen["inputs"].bands == (1, 2, 4) and seen["inputs"].scaling.high == 2047

"""``import geovision`` changes no process-wide setting; GDAL's cache is capped while rasters are processed."""

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from geovision.io.cache import GDAL_CACHE_MB, gdal_cache

MIB = 2**20


def _python(code: str, **env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "GDAL_CACHEMAX"} | env
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environment
    ).stdout.strip()


def test_import_geovision_leaves_gdal_cachemax_alone():
    code = "import os, geovision, geovision.cli.main; print(os.environ.get('GDAL_CACHEMAX', 'unset'))"
    assert _python(code) == "unset"


def test_the_cache_is_capped_inside_the_block_and_restored_after():
    from rasterio.env import get_gdal_config

    before = get_gdal_config("GDAL_CACHEMAX")
    with gdal_cache():
        assert int(get_gdal_config("GDAL_CACHEMAX")) == GDAL_CACHE_MB * MIB  # rasterio reports bytes
        assert os.environ["GDAL_CACHEMAX"] == str(GDAL_CACHE_MB)  # for processes started inside (Dask workers)
    assert get_gdal_config("GDAL_CACHEMAX") == before and "GDAL_CACHEMAX" not in os.environ


def test_before_rasterio_is_loaded_gdal_reads_the_cap_on_first_use():
    code = (
        "from geovision.io.cache import gdal_cache\nwith gdal_cache():\n    import rasterio\n"
        "    from rasterio.env import get_gdal_config\n    print(get_gdal_config('GDAL_CACHEMAX'))"
    )
    assert int(_python(code)) == GDAL_CACHE_MB * MIB


def test_a_cache_size_the_user_exported_wins():
    code = (
        "from geovision.io.cache import gdal_cache\nimport rasterio\nfrom rasterio.env import get_gdal_config\n"
        "with gdal_cache():\n    print(get_gdal_config('GDAL_CACHEMAX'))"
    )
    assert int(_python(code, GDAL_CACHEMAX="512")) == 512 * MIB


def test_a_run_and_every_command_process_rasters_under_the_cap(monkeypatch, tmp_path):
    from click.testing import CliRunner
    from rasterio.env import get_gdal_config

    import geovision.pipeline.run as pipeline_run
    from geovision.cli.main import cli

    seen = []

    class Probe:  # a stage that notes the cache size it runs under
        name = "probe"

        def __call__(self, run):
            seen.append(int(get_gdal_config("GDAL_CACHEMAX")))
            raise RuntimeError("stop here")

    monkeypatch.setattr(pipeline_run.stages, "STAGES", [Probe()])
    monkeypatch.setattr(pipeline_run, "check_run", lambda inputs, config: {})
    monkeypatch.setattr(pipeline_run, "Run", lambda *args, **kwargs: SimpleNamespace())
    with pytest.raises(RuntimeError, match="stop here"):
        pipeline_run.run_pipeline(None, tmp_path)  # the Python API
    result = CliRunner().invoke(cli, ["run", "--pre", "a.tif", "--post", "b.tif", "--out", str(tmp_path / "o")])
    assert isinstance(result.exception, RuntimeError)  # the CLI, through the same run_pipeline
    assert seen == [GDAL_CACHE_MB * MIB] * 2

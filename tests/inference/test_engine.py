"""segment_scene end to end on GeoTIFFs: outputs, validation, resume after a kill, Dask."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

from geovision.errors import OutputExistsError
from geovision.inference.engine import SegmentOptions, output_names, segment_scene
from geovision.inference.predictor import ModelRef
from geovision.inference.sources import SourceSpec
from geovision.io.cog import validate_cog
from tests.rasters import write_geotiff

from .conftest import make_dummy_model

REPO = Path(__file__).resolve().parents[2]


def write_scene(path: Path, *, width: int, height: int, seed: int, nodata_block: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (3, height, width), dtype=np.uint8)
    if nodata_block:
        data[:, :20, :30] = 0
    return write_geotiff(path, data, origin=(365000, 4100000), block_px=256, nodata=0 if nodata_block else None)


def dummy_ref(runtime: str = "fp32") -> ModelRef:
    return ModelRef(key="dummy-conv", load=functools.partial(make_dummy_model, 0), runtime=runtime, device="cpu")


@pytest.fixture
def pair(tmp_path):
    pre = write_scene(tmp_path / "pre.tif", width=300, height=260, seed=1, nodata_block=True)
    post = write_scene(tmp_path / "post.tif", width=300, height=260, seed=2)
    return SourceSpec(pre=str(pre), post=str(post), scaling="dtype")


OPTIONS = SegmentOptions(chip_px=128, overlap_px=16, batch_windows=2)


def _bytes(outputs):
    return {name: Path(path).read_bytes() for name, path in outputs.items()}


def test_outputs_are_valid_cogs_with_nodata(pair, tmp_path):
    result = segment_scene(pair, dummy_ref(), tmp_path / "out", options=OPTIONS)
    assert sorted(result.outputs) == sorted(output_names(("buildings", "roads"), ("pre", "post")))
    for name, path in result.outputs.items():
        assert validate_cog(path), name
        with rasterio.open(path) as src:
            assert (src.width, src.height) == (300, 260)
            assert src.crs.to_epsg() == 32615
            band = src.read(1)
        if name != "valid":
            assert src.nodata == 255
            assert (band[:20, :30] == 255).all()  # the pre image's nodata corner is nodata everywhere
            assert band[100:, 100:].max() < 255
    assert not (tmp_path / "out" / ".work").exists()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        segment_scene(pair, dummy_ref(), tmp_path / "out", options=OPTIONS)


def test_kill_and_resume_is_byte_identical(pair, tmp_path):
    reference = segment_scene(pair, dummy_ref(), tmp_path / "ref", options=OPTIONS)
    out = tmp_path / "killed"
    script = f"""
import functools, sys, time
sys.path.insert(0, {str(REPO)!r})
from tests.inference.conftest import make_dummy_model
from geovision.inference import batches, predictor
from geovision.inference.engine import segment_scene, SegmentOptions
from geovision.inference.sources import SourceSpec
real = predictor.predict_batch
def slow(*args, **kwargs):
    time.sleep(0.4)
    return real(*args, **kwargs)
batches.predict_batch = slow
ref = predictor.ModelRef(key="dummy-conv", load=functools.partial(make_dummy_model, 0), runtime="fp32", device="cpu")
segment_scene(SourceSpec(pre={pair.pre!r}, post={pair.post!r}, scaling="dtype"), ref, {str(out)!r},
              options=SegmentOptions(chip_px=128, overlap_px=16, batch_windows=2))
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    batches = out / ".work" / "batches"
    total = reference.batches_run

    def finished() -> int:
        return len([p for p in batches.glob("*.npz") if not p.name.startswith(".")])

    deadline = time.time() + 60
    while time.time() < deadline and finished() < 2:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = finished()
    assert 2 <= done < total, "the run should have been killed halfway"
    with pytest.raises(OutputExistsError, match="--resume"):
        segment_scene(pair, dummy_ref(), out, options=OPTIONS)
    resumed = segment_scene(pair, dummy_ref(), out, options=OPTIONS, resume=True)
    assert resumed.batches_resumed == done and resumed.batches_run == total - done
    assert _bytes(resumed.outputs) == _bytes(reference.outputs)


def test_resume_refuses_changed_options(pair, tmp_path):
    from geovision.errors import ConfigError
    from geovision.inference.workstore import WorkStore

    WorkStore(tmp_path / "o" / ".work").start({"options": "other"}, resume=False)
    with pytest.raises(ConfigError, match="options changed"):
        segment_scene(pair, dummy_ref(), tmp_path / "o", options=OPTIONS, resume=True)


def test_dask_local_cluster_gives_identical_masks(pair, tmp_path):
    import cloudpickle

    from . import conftest

    cloudpickle.register_pickle_by_value(conftest)
    single = segment_scene(pair, dummy_ref(), tmp_path / "single", options=OPTIONS)
    spread = segment_scene(pair, dummy_ref(), tmp_path / "dask", options=OPTIONS, scheduler="local", n_workers=2)
    for name in single.outputs:
        with rasterio.open(single.outputs[name]) as a, rasterio.open(spread.outputs[name]) as b:
            assert np.array_equal(a.read(), b.read()), name


def test_resume_accepts_the_same_plan_with_tuples(tmp_path):
    """Bands and percentiles are tuples in memory and lists in plan.json: the same plan must still resume."""
    from geovision.inference.workstore import WorkStore

    plan = {"source": {"bands": (3, 2, 1), "scaling": {"method": "percentile", "percentiles": (2.0, 98.0)}}}
    store = WorkStore(tmp_path / ".work")
    store.start(plan, resume=False)
    store.save(0, {"a": np.zeros(2, np.uint8)})
    store.start(plan, resume=True)
    assert store.is_done(0, {"a"})

"""The openvino runtime: fp32 results of eager torch for any batch and chip, a converted model cached by content."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geovision.errors import ConfigError
from geovision.inference.runtime import (
    OpenVinoRuntime,
    TorchRuntime,
    build_runtime,
    module_digest,
    resolve_runtime_name,
)
from geovision.models.multitask import build_model
from geovision.models.spec import ModelSpec

pytest.importorskip("openvino")
SPEC = ModelSpec(encoder="tu-tf_efficientnet_lite0", encoder_weights=None, decoder_channels=(16, 16, 8, 8, 8))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(SPEC, pretrained=False).eval()


def test_openvino_matches_eager_fp32_for_any_batch_and_chip(model, tmp_path):
    runtime = OpenVinoRuntime(model, model.tasks, bands=3, threads=1, cache_dir=tmp_path)
    reference = TorchRuntime(model, model.tasks, device=torch.device("cpu"), precision="fp32")
    rng = np.random.default_rng(1)
    for batch, size in ((1, 64), (3, 64), (2, 96)):
        x = rng.uniform(-1, 1, (batch, 3, size, size)).astype(np.float32)
        ours, theirs = runtime(x), reference(x)
        for task in model.tasks:
            assert ours[task].shape == (batch, size, size) and ours[task].dtype == np.float32
            np.testing.assert_allclose(ours[task], theirs[task], atol=1e-4)
            assert np.array_equal(ours[task] > 0.5, theirs[task] > 0.5)
    assert next(model.parameters()).dtype == torch.float32  # the caller's model is untouched


def test_the_converted_model_is_cached_by_content(model, tmp_path):
    first = OpenVinoRuntime(model, model.tasks, bands=3, threads=1, cache_dir=tmp_path)
    path = first.converted_path(64, 64)
    stamp = path.stat().st_mtime_ns
    again = OpenVinoRuntime(model, model.tasks, bands=3, threads=1, cache_dir=tmp_path)
    assert again.converted_path(64, 64) == path and path.stat().st_mtime_ns == stamp  # not converted twice
    assert again.converted_path(96, 96) != path  # one IR per chip size
    retrained = build_model(SPEC, pretrained=False).eval()
    with torch.no_grad():
        next(retrained.parameters()).add_(0.01)
    other = OpenVinoRuntime(retrained, retrained.tasks, bands=3, threads=1, cache_dir=tmp_path)
    assert module_digest(other.module, 1) != module_digest(first.module, 1)
    assert other.converted_path(64, 64) != path  # new weights, new IR
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically


def test_auto_is_openvino_on_the_cpu_and_openvino_needs_the_cpu(model, tmp_path, monkeypatch):
    monkeypatch.setenv("GEOVISION_OPENVINO_CACHE", str(tmp_path))
    assert resolve_runtime_name("auto", torch.device("cpu")) == "openvino"
    runtime = build_runtime(model, model.tasks, name="auto", device="cpu", chip_px=64, bands=3)
    assert isinstance(runtime, OpenVinoRuntime) and runtime.name == "openvino"
    with pytest.raises(ConfigError, match="openvino runs on the CPU"):
        resolve_runtime_name("openvino", torch.device("cuda"))

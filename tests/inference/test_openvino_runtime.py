"""The openvino runtime: fp32 results of eager torch for any batch and chip, a converted model cached by content."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geovision.errors import ConfigError
from geovision.inference import openvino_split
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


@pytest.mark.parametrize("bf16", [True, False])
def test_auto_is_openvino_on_the_cpu_and_openvino_needs_the_cpu(model, tmp_path, monkeypatch, bf16):
    monkeypatch.setenv("GEOVISION_OPENVINO_CACHE", str(tmp_path))
    monkeypatch.setattr(openvino_split, "cpu_has_bf16", lambda: bf16)
    assert resolve_runtime_name("auto", torch.device("cpu")) == "openvino"
    runtime = build_runtime(model, model.tasks, name="auto", device="cpu", chip_px=64, bands=3)
    assert isinstance(runtime, OpenVinoRuntime)
    assert runtime.name == ("openvino-mixed" if bf16 else "openvino")  # bf16 only where the CPU runs it natively
    with pytest.raises(ConfigError, match="openvino runs on the CPU"):
        resolve_runtime_name("openvino", torch.device("cuda"))


def test_the_split_halves_make_the_whole_model(model, tmp_path):
    import openvino as ov

    path = str(OpenVinoRuntime(model, model.tasks, bands=3, cache_dir=tmp_path).converted_path(64, 64))
    core = ov.Core()
    halves = openvino_split.split_early_layers(lambda: core.read_model(path))
    assert halves is not None and "blocks.2" in halves.cut_at
    assert halves.early.outputs  # the block output and every early tensor the decoder reads (skips)
    config = {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": 1}
    early, late = (core.compile_model(half, "CPU", config) for half in (halves.early, halves.late))
    whole = core.compile_model(path, "CPU", config)
    x = np.random.default_rng(2).uniform(-1, 1, (2, 3, 64, 64)).astype(np.float32)
    features = early(x)
    split_out, whole_out = late([features[i] for i in range(len(halves.early.outputs))]), whole(x)
    for index in range(len(model.tasks)):
        np.testing.assert_allclose(split_out[index], whole_out[index], atol=1e-5)


def test_a_model_of_another_layout_is_not_split_and_stays_f32(tmp_path):
    import openvino as ov

    class Plain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 2, 3, padding=1)

        def forward(self, x):
            out = self.conv(x)
            return {"buildings": out[:, :1], "roads": out[:, 1:]}

    plain = Plain().eval()
    runtime = OpenVinoRuntime(plain, ("buildings", "roads"), bands=3, precision="mixed", cache_dir=tmp_path)
    path = str(runtime.converted_path(32, 32))
    assert openvino_split.split_early_layers(lambda: ov.Core().read_model(path)) is None
    x = np.random.default_rng(3).uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = torch.sigmoid(plain.conv(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(runtime(x)["roads"], expected[:, 1], atol=1e-5)  # f32 throughout


@pytest.mark.skipif(not openvino_split.cpu_has_bf16(), reason="the CPU has no native bf16")
def test_mixed_precision_stays_close_to_fp32(model, tmp_path):
    runtime = OpenVinoRuntime(model, model.tasks, bands=3, precision="mixed", cache_dir=tmp_path)
    reference = TorchRuntime(model, model.tasks, device=torch.device("cpu"), precision="fp32")
    x = np.random.default_rng(4).uniform(-1, 1, (2, 3, 96, 96)).astype(np.float32)
    ours, theirs = runtime(x), reference(x)
    for task in model.tasks:
        assert ours[task].shape == (2, 96, 96)
        assert np.abs(ours[task] - theirs[task]).max() < 0.05  # bf16 rounding, not another model

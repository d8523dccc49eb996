"""The onnx runtime: export with static "SAME" padding, dynamic batch and chip size, same results as torch."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from geovision.inference.runtime import OnnxRuntime, TorchRuntime, static_same_padding
from geovision.models.multitask import build_model
from geovision.models.spec import ModelSpec

pytest.importorskip("onnxruntime")
SPEC = ModelSpec(encoder="tu-tf_efficientnet_lite0", encoder_weights=None, decoder_channels=(16, 16, 8, 8, 8))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(SPEC, pretrained=False).eval()


def test_static_same_padding_equals_timm_dynamic_padding(model):
    static = copy.deepcopy(model)
    assert static_same_padding(static) == 5  # the five stride-2 convolutions of the encoder
    assert static_same_padding(static) == 0  # nothing left to replace
    for size in (64, 96, 160):  # any multiple of 32
        x = torch.rand(2, 3, size, size) * 2 - 1
        with torch.inference_mode():
            ours, theirs = static(x), model(x)
        for task in model.tasks:
            torch.testing.assert_close(ours[task], theirs[task], rtol=0, atol=0)


def test_onnx_matches_torch_for_any_batch_and_chip(model, tmp_path):
    import onnx

    runtime = OnnxRuntime(model, model.tasks, chip_px=64, bands=3, onnx_path=tmp_path / "m.onnx", threads=1)
    ops = [node.op_type for node in onnx.load(tmp_path / "m.onnx").graph.node]
    assert "Ceil" not in ops  # no per-call "SAME" padding arithmetic left
    reference = TorchRuntime(model, model.tasks, device=torch.device("cpu"), precision="fp32")
    rng = np.random.default_rng(1)
    for batch, size in ((1, 64), (3, 96)):
        x = rng.uniform(-1, 1, (batch, 3, size, size)).astype(np.float32)
        ours, theirs = runtime(x), reference(x)
        for task in model.tasks:
            assert ours[task].shape == (batch, size, size)
            np.testing.assert_allclose(ours[task], theirs[task], atol=1e-4)
    assert next(model.parameters()).dtype == torch.float32  # the caller's model is untouched

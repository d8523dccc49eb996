"""bf16 runtime: early full-resolution layers stay in fp32; the caller's model is never modified."""

import torch

from geovision.inference.runtime import Float32, TorchRuntime, keep_early_layers_fp32
from geovision.models.multitask import build_model
from geovision.models.spec import ModelSpec

SPEC = ModelSpec(encoder="tu-mobilenetv3_small_050", encoder_weights=None, decoder_channels=(16, 16, 8, 8, 8))


def _float32_modules(module):
    return [m for m in module.modules() if isinstance(m, Float32)]


def test_bf16_keeps_stem_and_first_blocks_in_fp32_and_leaves_the_model_alone():
    model = build_model(SPEC, pretrained=False).eval()
    runtime = TorchRuntime(model, model.tasks, device=torch.device("cpu"), precision="bf16")
    assert len(_float32_modules(runtime.module)) == 3  # stem + 2 blocks
    assert not _float32_modules(model)
    fp32 = TorchRuntime(model, model.tasks, device=torch.device("cpu"), precision="fp32")
    assert not _float32_modules(fp32.module)
    unfolded = TorchRuntime(model, model.tasks, device=torch.device("cpu"), precision="bf16", fold_bn=False)
    assert len(_float32_modules(unfolded.module)) == 3 and not _float32_modules(model)


def test_float32_wrapper_computes_in_fp32_under_autocast():
    conv = torch.nn.Conv2d(3, 4, 3)
    x = torch.rand(1, 3, 8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert conv(x).dtype == torch.bfloat16
        assert Float32(conv)(x).dtype == torch.float32


def test_other_encoder_layouts_are_left_as_they_are():
    assert keep_early_layers_fp32(torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1))) == 0


def test_bf16_weights_cast_once_give_the_same_results_as_autocast_casting_them():
    import copy

    import numpy as np

    from geovision.inference import runtime as runtime_module

    model = build_model(SPEC, pretrained=False).eval()
    runtime = TorchRuntime(model, model.tasks, device=torch.device("cpu"), precision="bf16")
    early = [p.dtype for m in _float32_modules(runtime.module) for p in m.parameters()]
    assert early and set(early) == {torch.float32}  # fp32 layers keep fp32 weights
    later = [m.weight.dtype for m in runtime.module.modules() if isinstance(m, torch.nn.Conv2d)]
    assert torch.bfloat16 in later
    assert next(model.parameters()).dtype == torch.float32  # the caller's model is untouched

    plain = copy.deepcopy(runtime)
    plain.module = copy.deepcopy(runtime.module).float()  # fp32 weights: autocast casts them per call
    batch = np.random.default_rng(0).uniform(-1, 1, (2, 3, 64, 64)).astype(np.float32)
    ours, theirs = runtime(batch), plain(batch)
    for task in model.tasks:
        np.testing.assert_array_equal(ours[task], theirs[task])
    assert (
        runtime_module.cast_autocast_weights(torch.nn.Sequential(Float32(torch.nn.Conv2d(3, 3, 1))), torch.bfloat16)
        == 0
    )

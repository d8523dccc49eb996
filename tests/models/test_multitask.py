"""MultiTaskSegmenter: one shared encoder, per-task branches, any band count."""

from __future__ import annotations

import pydantic
import pytest
import torch

from geovision.errors import ConfigError
from geovision.models.multitask import MultiTaskSegmenter, build_model
from geovision.models.spec import ModelSpec

torch.set_num_threads(1)
TINY = dict(encoder="tu-mobilenetv3_small_050", encoder_weights=None, decoder_channels=(32, 16, 16, 8, 8))


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"shared_decoder": True},
        {"decoder": "fpn", "decoder_channels": (32, 32)},
        {"decoder": "fpn", "decoder_channels": (32, 32), "shared_decoder": True},
    ],
)
def test_forward_returns_one_logit_map_per_task(extra):
    model = build_model(ModelSpec(**{**TINY, **extra, "tasks": ("buildings", "roads", "water")})).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 96))
    assert list(out) == ["buildings", "roads", "water"]
    for logits in out.values():
        assert logits.shape == (2, 1, 64, 96)
    assert not torch.equal(out["buildings"], out["roads"])


def test_one_encoder_shared_by_all_tasks():
    one = build_model(ModelSpec(**TINY, tasks=("buildings",)))
    two = build_model(ModelSpec(**TINY, tasks=("buildings", "roads")))
    encoder = _count(two.encoder)
    branch = _count(two.decoders["roads"]) + _count(two.heads["roads"])
    assert _count(two) - _count(one) == branch  # a task adds only its branch
    assert sum(isinstance(m, type(two.encoder)) for m in two.modules()) == 1
    shared = build_model(ModelSpec(**TINY, shared_decoder=True))
    assert list(shared.decoders) == ["shared"] and list(shared.heads) == ["buildings", "roads"]
    assert _count(shared) < _count(two)
    assert encoder > 0


def test_gradients_reach_encoder_from_every_task():
    model = build_model(ModelSpec(**TINY))
    out = model(torch.randn(1, 3, 64, 64))
    for task in model.tasks:
        model.zero_grad()
        out[task].sum().backward(retain_graph=True)
        stem = next(model.encoder.parameters()).grad
        assert stem is not None and stem.abs().sum() > 0
        other = [t for t in model.tasks if t != task][0]
        assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.heads[other].parameters())


@pytest.mark.parametrize("bands", [1, 4, 8])
def test_any_band_count(bands):
    model = build_model(ModelSpec(**TINY, in_channels=bands)).eval()
    with torch.no_grad():
        out = model(torch.randn(1, bands, 64, 64))
    assert out["roads"].shape == (1, 1, 64, 64)


def test_default_spec_is_lite0_with_imagenet_and_two_tasks():
    spec = ModelSpec()
    assert spec.encoder == "tu-tf_efficientnet_lite0" and spec.encoder_weights == "imagenet"
    assert spec.tasks == ("buildings", "roads")
    model = MultiTaskSegmenter(spec, pretrained=False)
    assert 3e6 < _count(model) < 8e6  # fits the < 40 MB bundle budget in float32


@pytest.mark.parametrize(
    "bad",
    [
        {"tasks": ()},
        {"tasks": ("roads", "roads")},
        {"tasks": ("bad name",)},
        {"in_channels": 0},
        {"decoder": "linknet"},
        {"unknown": 1},
    ],
)
def test_invalid_specs_are_rejected(bad):
    with pytest.raises(pydantic.ValidationError):
        ModelSpec(**{**TINY, **bad})


def test_inconsistent_decoder_channels_and_unknown_encoder():
    with pytest.raises(ConfigError, match="decoder_channels"):
        build_model(ModelSpec(**{**TINY, "decoder_channels": (16, 8)}))
    with pytest.raises(ConfigError, match="decoder_channels"):
        build_model(ModelSpec(**{**TINY, "decoder": "fpn", "decoder_channels": (16,)}))
    with pytest.raises(ConfigError, match="multiple of 32"):
        build_model(ModelSpec(**{**TINY, "decoder": "fpn", "decoder_channels": (32, 16)}))
    with pytest.raises(ConfigError, match="cannot build encoder"):
        build_model(ModelSpec(**{**TINY, "encoder": "tu-no_such_net"}))
    with pytest.raises(ConfigError, match="cannot build encoder"):
        build_model(ModelSpec(**{**TINY, "encoder": "no_such_net"}))

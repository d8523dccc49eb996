"""Offline EfficientNet-Lite0 ImageNet weights: key mapping, completeness, reference logits, classification."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from geovision.errors import ModelBundleError
from geovision.models.encoders import build_encoder
from geovision.models.pretrained import (
    LITE0_MEAN,
    LITE0_STD,
    LITE0_TIMM_NAME,
    lite0_stage_depths,
    lite0_timm_state_dict,
    load_lite0_original,
    map_lite0_keys,
)

timm = pytest.importorskip("timm")
torch.set_num_threads(1)

# EfficientNet-Lite0 as published (TF reference): blocks per stage and stride of each stage's first block
REFERENCE_REPEATS = (1, 2, 2, 3, 3, 4, 1)
REFERENCE_STRIDES = (1, 2, 2, 2, 1, 2, 1)


def _same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow 'SAME' padding (extra pixel at the bottom/right)."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def _bn(x: torch.Tensor, sd: dict, prefix: str) -> torch.Tensor:
    return F.batch_norm(
        x,
        sd[f"{prefix}.running_mean"],
        sd[f"{prefix}.running_var"],
        sd[f"{prefix}.weight"],
        sd[f"{prefix}.bias"],
        training=False,
        eps=1e-3,
    )


def reference_forward(sd: dict, x: torch.Tensor) -> torch.Tensor:
    """Independent functional forward pass over the ORIGINAL efficientnet_pytorch key layout."""
    x = F.relu6(_bn(F.conv2d(_same_pad(x, 3, 2), sd["_conv_stem.weight"], stride=2), sd, "_bn0"))
    index = 0
    for repeats, stage_stride in zip(REFERENCE_REPEATS, REFERENCE_STRIDES, strict=True):
        for j in range(repeats):
            stride = stage_stride if j == 0 else 1
            p = f"_blocks.{index}"
            inputs = x
            if f"{p}._expand_conv.weight" in sd:
                x = F.relu6(_bn(F.conv2d(x, sd[f"{p}._expand_conv.weight"]), sd, f"{p}._bn0"))
            dw = sd[f"{p}._depthwise_conv.weight"]
            x = F.conv2d(_same_pad(x, dw.shape[-1], stride), dw, stride=stride, groups=dw.shape[0])
            x = F.relu6(_bn(x, sd, f"{p}._bn1"))
            x = _bn(F.conv2d(x, sd[f"{p}._project_conv.weight"]), sd, f"{p}._bn2")
            if stride == 1 and inputs.shape[1] == x.shape[1]:
                x = x + inputs
            index += 1
    x = F.relu6(_bn(F.conv2d(x, sd["_conv_head.weight"]), sd, "_bn1"))
    return F.linear(x.mean(dim=(2, 3)), sd["_fc.weight"], sd["_fc.bias"])


@pytest.fixture(scope="module")
def original() -> dict:
    return load_lite0_original()


@pytest.fixture(scope="module")
def timm_lite0(original):
    model = timm.create_model(LITE0_TIMM_NAME, pretrained=False).eval()
    model.load_state_dict(map_lite0_keys(original, lite0_stage_depths()), strict=True)
    return model


def _imagenet_input(image: np.ndarray) -> torch.Tensor:
    from skimage.transform import resize

    x = resize(image, (224, 224), anti_aliasing=True).astype(np.float32)
    t = torch.from_numpy(x).permute(2, 0, 1)[None]
    mean, std = torch.tensor(LITE0_MEAN).view(-1, 1, 1), torch.tensor(LITE0_STD).view(-1, 1, 1)
    return (t - mean) / std


def test_mapping_is_one_to_one_and_complete(original):
    mapped = map_lite0_keys(original, lite0_stage_depths())
    timm_keys = set(timm.create_model(LITE0_TIMM_NAME, pretrained=False).state_dict())
    assert len(mapped) == len(original) == len(timm_keys)
    assert set(mapped) == timm_keys
    assert sum(REFERENCE_REPEATS) == sum(lite0_stage_depths())


def test_timm_logits_equal_reference_forward_of_original_layout(original, timm_lite0):
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours, ref = timm_lite0(x), reference_forward(original, x)
    torch.testing.assert_close(ours, ref, atol=2e-4, rtol=1e-4)
    # and on an odd size, where TF-SAME padding differs from symmetric padding
    x = torch.randn(1, 3, 97, 131, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(timm_lite0(x), reference_forward(original, x), atol=2e-4, rtol=1e-4)


@pytest.mark.parametrize(
    "name, classes",
    [
        ("chelsea", range(281, 286)),  # tabby..Egyptian cat
        ("coffee", (967, 968)),
    ],
)  # espresso, cup
def test_classifies_imagenet_like_photos(timm_lite0, name, classes):
    from skimage import data

    with torch.no_grad():
        probs = timm_lite0(_imagenet_input(getattr(data, name)())).softmax(-1)[0]
    assert int(probs.argmax()) in classes
    assert float(probs.max()) > 0.5


def test_random_init_does_not_classify(original):
    """Control for the test above: without the mapped weights the cat is not found."""
    from skimage import data

    model = timm.create_model(LITE0_TIMM_NAME, pretrained=False).eval()
    with torch.no_grad():
        probs = model(_imagenet_input(data.chelsea())).softmax(-1)[0]
    assert float(probs.max()) < 0.5


def test_encoder_receives_every_weight():
    encoder = build_encoder(f"tu-{LITE0_TIMM_NAME}", in_channels=3, weights="imagenet")
    weights = lite0_timm_state_dict()
    own = encoder.model.state_dict()
    assert len(own) == len(weights) - 8  # all but conv_head (1), bn2 (5) and classifier (2)
    for key, value in own.items():
        torch.testing.assert_close(value, weights[key], msg=key)


@pytest.mark.parametrize("bands", [1, 4, 6])
def test_encoder_adapts_stem_to_band_count(bands):
    encoder = build_encoder(f"tu-{LITE0_TIMM_NAME}", in_channels=bands, weights="imagenet")
    rgb = lite0_timm_state_dict()["conv_stem.weight"]
    stem = encoder.model.conv_stem.weight.detach()
    assert stem.shape == (32, bands, 3, 3)
    if bands == 1:
        torch.testing.assert_close(stem[:, 0], rgb.sum(dim=1))
    else:
        for band in range(bands):
            torch.testing.assert_close(stem[:, band], rgb[:, band % 3] * 3 / bands)
    if bands % 3 and bands != 1:
        return
    # with 1 band or a multiple of 3, the adapted stem sees a grey image exactly like the RGB stem
    grey = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(
            F.conv2d(grey.expand(1, bands, 64, 64), stem),
            F.conv2d(grey.expand(1, 3, 64, 64), rgb),
            atol=1e-5,
            rtol=1e-4,
        )


def test_unknown_key_is_refused(original):
    bad = dict(original)
    bad["_blocks.0._se_reduce.weight"] = torch.zeros(1)
    with pytest.raises(ModelBundleError, match="unexpected layer"):
        map_lite0_keys(bad, lite0_stage_depths())
    with pytest.raises(ModelBundleError, match="unexpected key"):
        map_lite0_keys({"head.weight": torch.zeros(1)}, lite0_stage_depths())

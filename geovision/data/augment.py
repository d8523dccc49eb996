"""Augmentations applied identically to a sample's image, masks and valid mask.

Geometric: horizontal/vertical flips and 90-degree rotations (exact on the pixel
grid); scale is applied by the window sampler (it reads a larger or smaller window).
Photometric: per-band brightness/contrast jitter on the normalised image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

SPATIAL_PREFIXES = ("image", "mask_", "valid")


@dataclass(frozen=True)
class Augment:
    """Random augmentation settings; ``scale`` is the (min, max) zoom factor range."""

    flips: bool = True
    rot90: bool = True
    scale: tuple[float, float] = (1.0, 1.0)
    brightness: float = 0.0
    contrast: float = 0.0

    def scale_factor(self, rng: np.random.Generator) -> float:
        """A log-uniform zoom factor in ``scale``."""
        low, high = self.scale
        return float(np.exp(rng.uniform(np.log(low), np.log(high)))) if high > low else float(low)

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        """Augment ``sample`` (tensors ``[..., H, W]``) in a new dict."""
        out = dict(sample)
        spatial = [k for k in out if k.startswith(SPATIAL_PREFIXES)]
        if self.flips and rng.random() < 0.5:
            for key in spatial:
                out[key] = torch.flip(out[key], dims=(-1,))
        if self.flips and rng.random() < 0.5:
            for key in spatial:
                out[key] = torch.flip(out[key], dims=(-2,))
        turns = int(rng.integers(4)) if self.rot90 else 0
        if turns:
            for key in spatial:
                out[key] = torch.rot90(out[key], turns, dims=(-2, -1))
        if self.brightness or self.contrast:
            bands = out["image"].shape[0]
            gain = torch.from_numpy(1 + rng.uniform(-self.contrast, self.contrast, (bands, 1, 1)).astype(np.float32))
            shift = torch.from_numpy(rng.uniform(-self.brightness, self.brightness, (bands, 1, 1)).astype(np.float32))
            out["image"] = (out["image"] * gain + shift) * out["valid"].unsqueeze(0)
        return {k: v.contiguous() if isinstance(v, torch.Tensor) else v for k, v in out.items()}

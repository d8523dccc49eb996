"""Two-view augmentations for contrastive pretraining on overhead imagery.

Each view is a random resized crop of the chip (scale and aspect jitter), a random element of
the dihedral group (flips and 90-degree turns: overhead images have no "up"), per-band
brightness/contrast, saturation jitter, Gaussian blur (sensor/resampling blur) and Gaussian
noise, all on the normalised image; invalid (nodata) pixels stay 0 and are tracked in ``valid``.
Randomness comes from a NumPy generator, so a sample depends only on ``(seed, index)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torchvision.transforms.v2 import functional as TF


@dataclass(frozen=True)
class ViewAugment:
    crop_scale: tuple[float, float] = (0.3, 1.0)
    flips: bool = True
    rot90: bool = True
    brightness: float = 0.3
    contrast: float = 0.3
    saturation: float = 0.2
    blur_prob: float = 0.5
    blur_sigma: tuple[float, float] = (0.1, 1.5)
    noise_std: float = 0.02

    def crop(self, image: Tensor, valid: Tensor, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
        """Random resized crop of ``[C, H, W]`` (area fraction in ``crop_scale``, aspect 3:4..4:3), back to H x W."""
        bands, height, width = image.shape
        area = rng.uniform(*self.crop_scale)
        ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        h, w = round(math.sqrt(area / ratio) * height), round(math.sqrt(area * ratio) * width)
        if h > height or w > width:  # the aspect jitter does not fit: keep the area, square
            h, w = round(math.sqrt(area) * height), round(math.sqrt(area) * width)
        h, w = max(1, min(height, h)), max(1, min(width, w))
        if (h, w) == (height, width):
            return image, valid
        top, left = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
        stacked = torch.cat([image, valid[None].float()])
        out = TF.resized_crop(stacked, top, left, h, w, [height, width], antialias=True)
        return out[:bands], out[bands] >= 0.999

    def __call__(self, image: Tensor, valid: Tensor, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
        """One augmented view of a normalised ``[C, H, W]`` image and its ``[H, W]`` valid mask."""
        image, valid = self.crop(image, valid, rng)
        if self.flips and rng.random() < 0.5:
            image, valid = image.flip(-1), valid.flip(-1)
        turns = int(rng.integers(4)) if self.rot90 else 0
        if turns:
            image, valid = torch.rot90(image, turns, (-2, -1)), torch.rot90(valid, turns, (-2, -1))
        bands = image.shape[0]
        gain = 1 + rng.uniform(-self.contrast, self.contrast, (bands, 1, 1))
        shift = rng.uniform(-self.brightness, self.brightness, (bands, 1, 1))
        image = image * torch.from_numpy(gain.astype(np.float32)) + torch.from_numpy(shift.astype(np.float32))
        if self.saturation and bands > 1:
            grey = image.mean(0, keepdim=True)
            image = grey + (image - grey) * float(1 + rng.uniform(-self.saturation, self.saturation))
        if self.blur_prob and rng.random() < self.blur_prob:
            sigma = float(rng.uniform(*self.blur_sigma))
            kernel = 2 * math.ceil(3 * sigma) + 1
            image = TF.gaussian_blur(image, [kernel, kernel], [sigma, sigma])
        if self.noise_std:
            image = image + torch.from_numpy((self.noise_std * rng.standard_normal(image.shape)).astype(np.float32))
        return (image * valid).contiguous(), valid.contiguous()

"""Sensor-robust augmentation: make 8-bit RGB training chips look like other sensors and conditions.

Applied to a chip in raw 8-bit units (before normalisation), each with its own probability:

- ``shear``: a small affine shear of image, masks and valid mask (off-nadir lean);
- ``resolution``: an effective GSD drawn log-uniformly in ``resolution_m`` (e.g. 0.3-1.0 m): a chip
  from a coarser sensor is blurred to that GSD and brought back to the model's grid, as the
  inference engine's resampling would give it;
- ``grey``: a pan-chromatic image (luminance in every band, as the engine feeds a 1-band image);
- ``colour``: per-band gain, offset and gamma;
- ``stretch``: 11/12/16-bit counts (a random sensor response and bit depth) stretched back to
  8 bits with the engine's own ``to8bit`` percentile stretch (:mod:`geovision.io.scaling`);
- ``haze``, ``blur`` or ``sharpen``, sensor ``noise`` and ``jpeg`` compression.

Every draw comes from the sample's ``numpy`` generator, so a chip is the same for the same
``(seed, index)``: training stays resumable and shardable.
"""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import ConfigDict, Field

from geovision.config import StrictModel
from geovision.io.scaling import Scaling, resolve_scaling

EIGHT_BIT = 255.0
LUMA = (0.299, 0.587, 0.114)


def _loguniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def shear(arrays: dict[str, torch.Tensor], sx: float, sy: float) -> dict[str, torch.Tensor]:
    """Shear ``[..., H, W]`` tensors about the chip centre; ``image`` bilinear, the others nearest."""
    theta = torch.tensor([[[1.0, sx, 0.0], [sy, 1.0, 0.0]]], dtype=torch.float32)
    out = {}
    for key, value in arrays.items():
        x = value.float()
        x = x[None] if x.ndim == 3 else x[None, None]
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        y = F.grid_sample(
            x, grid, mode="bilinear" if key == "image" else "nearest", padding_mode="zeros", align_corners=False
        )
        out[key] = (y[0] if value.ndim == 3 else y[0, 0]).to(value.dtype)
    return out


def coarsen(image: torch.Tensor, factor: float) -> torch.Tensor:
    """``[C, H, W]`` as seen by a sensor ``factor`` (> 1) times coarser, on the same grid."""
    height, width = image.shape[-2:]
    small = (max(1, round(height / factor)), max(1, round(width / factor)))
    low = F.interpolate(image[None], size=small, mode="bilinear", align_corners=False, antialias=True)
    return F.interpolate(low, size=(height, width), mode="bilinear", align_corners=False)[0]


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, int(round(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()
    bands = image.shape[0]
    padded = F.pad(image[None], (radius, radius, radius, radius), mode="replicate")
    out = F.conv2d(padded, kernel.view(1, 1, 1, -1).repeat(bands, 1, 1, 1), groups=bands)
    return F.conv2d(out, kernel.view(1, 1, -1, 1).repeat(bands, 1, 1, 1), groups=bands)[0]


def grey(image: torch.Tensor) -> torch.Tensor:
    """Luminance (mean for other than 3 bands) in every band."""
    if image.shape[0] == 3:
        weights = torch.tensor(LUMA, dtype=image.dtype).view(3, 1, 1)
        lum = (image * weights).sum(0, keepdim=True)
    else:
        lum = image.mean(0, keepdim=True)
    return lum.expand_as(image).clone()


def engine_stretch(counts: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """What the inference engine does to non-8-bit imagery: ``to8bit`` (2-98 % per band) -> 0..255."""
    stretch = resolve_scaling(
        Scaling(method="to8bit"), dtype="uint16", count=counts.shape[0], sample=lambda: (counts, valid)
    )
    return stretch.apply(counts.astype(np.float32, copy=True))


def jpeg(image: torch.Tensor, quality: int) -> torch.Tensor:
    """Round trip through JPEG at ``quality`` (1 or 3 bands; others unchanged)."""
    from PIL import Image

    bands = image.shape[0]
    if bands not in (1, 3):
        return image
    array = image.clamp(0, EIGHT_BIT).round().to(torch.uint8).numpy()
    pil = Image.fromarray(array[0] if bands == 1 else np.moveaxis(array, 0, -1))
    buffer = io.BytesIO()
    pil.save(buffer, format="JPEG", quality=int(quality))
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())), dtype=np.float32)
    decoded = decoded[None] if decoded.ndim == 2 else np.moveaxis(decoded, -1, 0)
    return torch.from_numpy(np.ascontiguousarray(decoded))


Probability = Field(0.0, ge=0, le=1)


class SensorAugment(StrictModel):
    """Probabilities and ranges of the sensor imitations (all off at probability 0); also the config section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gsd_m: float = Field(0.5, gt=0)  # the model's GSD (set from data.gsd_m)
    shear_p: float = Probability
    shear_max: float = Field(0.12, ge=0, le=0.5)
    resolution_p: float = Probability
    resolution_m: tuple[float, float] = (0.3, 1.0)
    grey_p: float = Probability
    colour_p: float = Probability
    gain: float = Field(0.25, ge=0, lt=1)
    offset: float = Field(20.0, ge=0)
    gamma: float = Field(1.4, ge=1)
    stretch_p: float = Probability
    haze_p: float = Probability
    haze_max: float = Field(0.35, ge=0, le=0.9)
    blur_p: float = Probability
    sharpen_p: float = Probability
    noise_p: float = Probability
    noise_max: float = Field(8.0, ge=0)
    jpeg_p: float = Probability
    jpeg_quality: tuple[int, int] = (30, 90)

    @property
    def active(self) -> bool:
        return any(
            getattr(self, name) > 0
            for name in (
                "shear_p",
                "resolution_p",
                "grey_p",
                "colour_p",
                "stretch_p",
                "haze_p",
                "blur_p",
                "sharpen_p",
                "noise_p",
                "jpeg_p",
            )
        )

    def __call__(
        self, image: torch.Tensor, valid: torch.Tensor, masks: dict[str, torch.Tensor], rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """``image`` float ``[C, H, W]`` in 0..255, ``valid`` bool and 0/1 ``masks`` ``[H, W]``: new tensors."""
        if rng.random() < self.shear_p:
            spatial = shear({"image": image, "valid": valid, **masks}, *rng.uniform(-self.shear_max, self.shear_max, 2))
            image, valid = spatial.pop("image"), spatial.pop("valid")
            masks = spatial
        if rng.random() < self.resolution_p:
            effective = _loguniform(rng, *self.resolution_m)
            if effective > self.gsd_m * 1.05:
                image = coarsen(image, effective / self.gsd_m)
        if rng.random() < self.grey_p:
            image = grey(image)
        if rng.random() < self.colour_p:
            image = self._colour(image, rng)
        if rng.random() < self.stretch_p:
            image = self._as_high_bit_depth(image, valid, rng)
        if rng.random() < self.haze_p:
            amount = float(rng.uniform(0.05, self.haze_max))
            image = image * (1 - amount) + amount * float(rng.uniform(170, 245))
        if rng.random() < self.blur_p:
            image = gaussian_blur(image, float(rng.uniform(0.4, 1.4)))
        elif rng.random() < self.sharpen_p:
            amount = float(rng.uniform(0.3, 1.2))
            image = image + amount * (image - gaussian_blur(image, float(rng.uniform(0.6, 1.5))))
        if rng.random() < self.noise_p:
            sigma = float(rng.uniform(1.0, self.noise_max))
            noise = torch.from_numpy(rng.normal(0.0, sigma, image.shape[-2:]).astype(np.float32))
            image = image + (
                noise
                if rng.random() < 0.5
                # correlated across bands or per band
                else torch.from_numpy(rng.normal(0.0, sigma, image.shape).astype(np.float32))
            )
        image = image.clamp(0, EIGHT_BIT)
        if rng.random() < self.jpeg_p:
            image = jpeg(image, int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1)))
        return image * valid.unsqueeze(0), valid, masks

    def _colour(self, image: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        bands = image.shape[0]
        gain = rng.uniform(1 - self.gain, 1 + self.gain, (bands, 1, 1))
        offset = rng.uniform(-self.offset, self.offset, (bands, 1, 1))
        gamma = np.exp(rng.uniform(-np.log(self.gamma), np.log(self.gamma), (bands, 1, 1)))
        unit = (image / EIGHT_BIT).clamp(0, 1)
        out = EIGHT_BIT * unit ** torch.from_numpy(gamma.astype(np.float32))
        return out * torch.from_numpy(gain.astype(np.float32)) + torch.from_numpy(offset.astype(np.float32))

    def _as_high_bit_depth(self, image: torch.Tensor, valid: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """8-bit -> simulated 11-16-bit counts (response curve, dark offset) -> the engine's stretch."""
        bits = int(rng.choice([11, 12, 14, 16]))
        full = 2**bits - 1
        response = float(rng.uniform(0.6, 1.6))  # a gamma: real sensors are linear, 8-bit products are not
        scale = rng.uniform(0.15, 0.6) * full
        dark = rng.uniform(0, 0.05) * full
        counts = dark + scale * (image.numpy() / EIGHT_BIT).clip(0, 1) ** response
        counts = np.round(np.minimum(counts, full)).astype(np.float32)
        valid_np = valid.numpy().astype(bool)
        if not valid_np.any():
            return image
        return torch.from_numpy(engine_stretch(counts, valid_np))

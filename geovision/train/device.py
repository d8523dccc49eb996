"""Mixed-precision choice: bf16 (or fp16 + grad scaling) where supported (devices: `inference.runtime`)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from geovision.errors import ConfigError


@dataclass(frozen=True)
class Precision:
    """Autocast dtype (None = full fp32) and whether gradients need scaling (fp16 on CUDA)."""

    dtype: torch.dtype | None
    device_type: str

    @property
    def use_scaler(self) -> bool:
        return self.dtype == torch.float16 and self.device_type == "cuda"

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def scaler(self) -> torch.amp.GradScaler:
        return torch.amp.GradScaler(self.device_type, enabled=self.use_scaler)


def select_precision(device: torch.device, amp: str = "auto") -> Precision:
    """``auto``: bf16 on CUDA GPUs that support it, else fp16 on CUDA; fp32 on mps and cpu."""
    if amp == "off":
        return Precision(None, device.type)
    if amp == "auto":
        if device.type != "cuda":
            return Precision(None, device.type)
        return Precision(torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16, "cuda")
    if amp in ("bf16", "fp16"):
        return Precision(torch.bfloat16 if amp == "bf16" else torch.float16, device.type)
    raise ConfigError(f"unknown amp setting {amp!r}", fix="use auto, bf16, fp16 or off")


def use_channels_last(device: torch.device, setting: str | bool = "auto") -> bool:
    """channels_last memory format: on by default on CUDA (tensor cores), off elsewhere."""
    return device.type == "cuda" if setting == "auto" else bool(setting)

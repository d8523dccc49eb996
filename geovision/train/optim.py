"""Optimiser and learning-rate schedule: AdamW, linear warm-up then cosine decay, LR scaling to the global batch."""

from __future__ import annotations

import math

import torch
from torch import nn

from geovision.errors import ConfigError

LR_SCALING_RULES = ("linear", "sqrt", "none")


def scale_lr(lr: float, *, batch_size: int, base_batch_size: int | None, rule: str = "linear") -> float:
    """``lr`` is given for ``base_batch_size``; scale it to the global ``batch_size``.

    ``linear``: ``lr * k`` (Goyal et al. 2017, with gradual warm-up), ``sqrt``: ``lr * sqrt(k)``
    (often better for Adam-type optimisers), ``none``: unchanged; ``k = batch_size / base_batch_size``.
    """
    if rule not in LR_SCALING_RULES:
        raise ConfigError(f"unknown learning-rate scaling rule {rule!r}", fix="use linear, sqrt or none")
    if base_batch_size is None or rule == "none":
        return lr
    ratio = batch_size / base_batch_size
    return lr * (ratio if rule == "linear" else math.sqrt(ratio))


def parameter_groups(model: nn.Module, *, lr: float, weight_decay: float, encoder_lr_mult: float = 1.0) -> list[dict]:
    """Groups: encoder / rest, each split into decayed weights and undecayed norms and biases."""
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        is_encoder = name.startswith("encoder.") or ".encoder." in name
        no_decay = param.ndim <= 1
        groups.setdefault((is_encoder, no_decay), []).append(param)
    return [
        {
            "params": params,
            "lr": lr * (encoder_lr_mult if is_encoder else 1.0),
            "weight_decay": 0.0 if no_decay else weight_decay,
        }
        for (is_encoder, no_decay), params in sorted(groups.items())
    ]


def build_optimizer(
    model: nn.Module,
    *,
    lr: float,
    weight_decay: float = 1e-4,
    betas: tuple[float, float] = (0.9, 0.999),
    encoder_lr_mult: float = 1.0,
) -> torch.optim.AdamW:
    """AdamW over :func:`parameter_groups` (no weight decay on norms and biases)."""
    groups = parameter_groups(model, lr=lr, weight_decay=weight_decay, encoder_lr_mult=encoder_lr_mult)
    if not groups:
        raise ConfigError("the model has no trainable parameters")
    return torch.optim.AdamW(groups, lr=lr, betas=betas)


def warmup_cosine(step: int, *, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.0) -> float:
    """LR multiplier: linear from ~0 to 1 over ``warmup_steps``, then cosine down to ``min_lr_ratio``."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_scheduler(
    optimizer: torch.optim.Optimizer, *, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.01
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step :class:`LambdaLR` with :func:`warmup_cosine` (call ``step()`` after each optimiser step)."""
    if warmup_steps >= total_steps and total_steps > 1:
        raise ConfigError(
            f"warmup_steps ({warmup_steps}) must be below the total steps ({total_steps})",
            fix="shorten the warm-up or train longer",
        )

    def factor(step: int) -> float:
        return warmup_cosine(step, warmup_steps=warmup_steps, total_steps=total_steps, min_lr_ratio=min_lr_ratio)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

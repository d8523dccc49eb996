"""Multi-task segmentation loss: BCE + soft Dice per task, masked by valid pixels and labelled samples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def masked_bce(logits: Tensor, target: Tensor, weight: Tensor, *, pos_weight: float | None = None) -> Tensor:
    """Mean binary cross-entropy over the pixels where ``weight`` is 1."""
    pw = None if pos_weight is None else torch.tensor(pos_weight, dtype=logits.dtype, device=logits.device)
    per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none", pos_weight=pw)
    return (per_pixel * weight).sum() / weight.sum().clamp_min(1.0)


def masked_dice(logits: Tensor, target: Tensor, weight: Tensor, *, smooth: float = 1.0) -> Tensor:
    """Soft Dice loss ``1 - 2|P*T| / (|P| + |T|)`` over the pixels where ``weight`` is 1."""
    probs = torch.sigmoid(logits) * weight
    target = target * weight
    intersection = (probs * target).sum()
    return 1.0 - (2.0 * intersection + smooth) / (probs.sum() + target.sum() + smooth)


class MultiTaskLoss(nn.Module):
    """``sum_t w_t * (bce_weight * BCE_t + dice_weight * Dice_t)`` over tasks with labelled valid pixels.

    ``batch`` carries ``valid`` ``[B, H, W]``, ``mask_<task>`` ``[B, H, W]`` and
    ``labelled`` ``{task: bool [B]}``; a task without labelled pixels in the batch adds nothing.
    """

    def __init__(
        self,
        tasks: Sequence[str],
        *,
        bce_weight: float = 1.0,
        dice_weight: float = 1.0,
        task_weights: Mapping[str, float] | None = None,
        pos_weight: Mapping[str, float] | None = None,
    ):
        super().__init__()
        self.tasks = tuple(tasks)
        self.bce_weight = bce_weight
        self.dice_weight = dice_weight
        self.task_weights = {t: float((task_weights or {}).get(t, 1.0)) for t in self.tasks}
        self.pos_weight = dict(pos_weight or {})

    def forward(self, logits: Mapping[str, Tensor], batch: Mapping) -> tuple[Tensor, dict[str, float]]:
        valid = batch["valid"].bool()
        # a zero that depends on every output keeps all parameters in the graph (needed by DDP)
        total = sum(out.float().sum() * 0.0 for out in logits.values())
        parts: dict[str, float] = {}
        for task in self.tasks:
            labelled = batch["labelled"][task].to(valid.device).bool().view(-1, 1, 1)
            weight = (valid & labelled).float()
            if weight.sum() == 0:
                continue
            logit = logits[task][:, 0].float()
            target = batch[f"mask_{task}"].float()
            bce = masked_bce(logit, target, weight, pos_weight=self.pos_weight.get(task))
            dice = masked_dice(logit, target, weight)
            total = total + self.task_weights[task] * (self.bce_weight * bce + self.dice_weight * dice)
            parts[f"{task}/bce"] = float(bce.detach())
            parts[f"{task}/dice"] = float(dice.detach())
        parts["loss"] = float(total.detach())
        return total, parts

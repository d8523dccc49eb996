"""Streaming per-task pixel metrics for validation, on :class:`geovision.evaluate.pixel.PixelCounts`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from geovision.evaluate.pixel import PixelCounts


class PixelMetrics:
    """Confusion counts per task over valid pixels of samples labelled for that task."""

    def __init__(self, tasks: Sequence[str], thresholds: Mapping[str, float] | None = None):
        self.tasks = tuple(tasks)
        self.thresholds = {t: float((thresholds or {}).get(t, 0.5)) for t in self.tasks}
        self.counts = {t: PixelCounts() for t in self.tasks}
        self.labelled = dict.fromkeys(self.tasks, 0)

    @torch.no_grad()
    def update(self, logits: Mapping[str, Tensor], batch: Mapping) -> None:
        valid = batch["valid"].bool()
        for task in self.tasks:
            labelled = batch["labelled"][task].to(valid.device).bool().view(-1, 1, 1)
            keep = valid & labelled
            if not keep.any():
                continue
            pred = torch.sigmoid(logits[task][:, 0].float()) >= self.thresholds[task]
            truth = batch[f"mask_{task}"].bool()
            self.counts[task].update(pred.cpu().numpy(), truth.cpu().numpy(), keep.cpu().numpy())
            self.labelled[task] += int(labelled.sum())

    def compute(self) -> dict[str, float]:
        """``{task/iou, task/f1, task/precision, task/recall}`` for labelled tasks, plus ``mean_iou``."""
        out: dict[str, float] = {}
        for task in self.tasks:
            if self.labelled[task]:
                c = self.counts[task]
                out.update(
                    {
                        f"{task}/iou": c.iou,
                        f"{task}/f1": c.f1,
                        f"{task}/precision": c.precision,
                        f"{task}/recall": c.recall,
                    }
                )
        ious = [out[f"{t}/iou"] for t in self.tasks if f"{t}/iou" in out]
        if ious:
            out["mean_iou"] = sum(ious) / len(ious)
        return out

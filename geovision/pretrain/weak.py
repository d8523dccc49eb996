"""Training from weak labels: noisy, shifted, missing or extra footprints (OpenStreetMap-style).

:class:`WeakLabelLoss` is the multi-task BCE + Dice loss made robust, each part optional:

- ``max_shift_px``: misregistration. The target is shifted by every offset up to
  ``max_shift_px`` (step ``shift_step_px``); each sample is scored against the offset that
  fits the prediction best (the "alignment-tolerant" loss of noisy-map training, Mnih & Hinton 2012).
- ``ignore_edge_px``: no loss in a band around label edges (footprints drawn a little off).
- ``negative_weight`` < 1: background pixels are trusted less (buildings missing from the map).
- ``bootstrap_beta`` < 1: soft bootstrapping (Reed et al. 2015), target = beta*label + (1-beta)*prediction.
- ``gap_px``/``gap_weight``: background in the narrow gaps between footprints weighs more and is never
  ignored, so that neighbouring buildings stay apart (the idea of U-Net's border weights, Ronneberger et al.
  2015, made from the binary mask by a morphological closing).
- ``drop_highest``: per task and batch, the fraction of samples with the highest loss is left
  out (the small-loss trick of co-teaching, Han et al. 2018): the sampling side of robustness.

:func:`corrupt_footprints` makes such noise on clean labels, for tests and experiments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.affinity
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geovision.pretrain.config import WeakLabelConfig, WeakTrainConfig
from geovision.train.run import TrainResult, train


def shift2d(x: Tensor, dy: int, dx: int) -> Tensor:
    """``x[..., H, W]`` moved by ``(dy, dx)`` pixels; pixels entering from outside are 0."""
    if dy == 0 and dx == 0:
        return x
    height, width = x.shape[-2:]
    padded = F.pad(x, (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0)))
    top, left = max(-dy, 0), max(-dx, 0)
    return padded[..., top : top + height, left : left + width]


def edge_band(target: Tensor, radius_px: int) -> Tensor:
    """1 within ``radius_px`` of a boundary of the binary ``target`` ``[B, H, W]``, else 0."""
    binary = (target > 0.5).float()[:, None]
    size = 2 * radius_px + 1
    dilated = F.max_pool2d(binary, size, stride=1, padding=radius_px)
    eroded = 1 - F.max_pool2d(1 - binary, size, stride=1, padding=radius_px)
    return (dilated - eroded)[:, 0]


def gaps(target: Tensor, radius_px: int) -> Tensor:
    """1 on background that a closing of radius ``radius_px`` fills: gaps narrower than ``2 * radius_px``
    between footprints (and narrow notches) of the binary ``target`` ``[B, H, W]``, else 0."""
    binary = (target > 0.5).float()[:, None]
    size = 2 * radius_px + 1
    dilated = F.max_pool2d(binary, size, stride=1, padding=radius_px)
    closed = 1 - F.max_pool2d(1 - dilated, size, stride=1, padding=radius_px)
    return (closed - binary).clamp_min(0)[:, 0]


def per_sample_bce(logit: Tensor, target: Tensor, weight: Tensor, pos_weight: float | None = None) -> Tensor:
    pw = None if pos_weight is None else torch.tensor(pos_weight, dtype=logit.dtype, device=logit.device)
    bce = F.binary_cross_entropy_with_logits(logit, target, reduction="none", pos_weight=pw)
    return (bce * weight).sum((-2, -1)) / weight.sum((-2, -1)).clamp_min(1.0)


def per_sample_dice(logit: Tensor, target: Tensor, weight: Tensor, smooth: float = 1.0) -> Tensor:
    probs = torch.sigmoid(logit) * weight
    target = target * weight
    intersection = (probs * target).sum((-2, -1))
    return 1.0 - (2 * intersection + smooth) / (probs.sum((-2, -1)) + target.sum((-2, -1)) + smooth)


def best_shift(logit: Tensor, target: Tensor, weight: Tensor, *, max_shift_px: int, step_px: int = 1) -> Tensor:
    """Per sample, the target shifted by the offset (within ``max_shift_px``) that fits ``logit`` best."""
    offsets = sorted({s * sign for s in range(0, max_shift_px + 1, step_px) for sign in (1, -1)})
    shifts = [(dy, dx) for dy in offsets for dx in offsets]
    with torch.no_grad():
        scores = torch.stack([per_sample_bce(logit, shift2d(target, dy, dx), weight) for dy, dx in shifts])
        best = scores.argmin(0)
    return torch.stack([shift2d(target[i], *shifts[int(k)]) for i, k in enumerate(best)])


class WeakLabelLoss(nn.Module):
    """Per-sample BCE + soft Dice per task with the robustness options of :class:`WeakLabelConfig`.

    Same interface as :class:`~geovision.train.losses.MultiTaskLoss`: ``forward(logits, batch)``.
    """

    def __init__(
        self,
        tasks: Sequence[str],
        *,
        options: WeakLabelConfig | None = None,
        bce_weight: float = 1.0,
        dice_weight: float = 1.0,
        task_weights: Mapping[str, float] | None = None,
        pos_weight: Mapping[str, float] | None = None,
    ):
        super().__init__()
        self.tasks = tuple(tasks)
        self.options = options if options is not None else WeakLabelConfig()
        self.bce_weight = bce_weight
        self.dice_weight = dice_weight
        self.task_weights = {t: float((task_weights or {}).get(t, 1.0)) for t in self.tasks}
        self.pos_weight = dict(pos_weight or {})

    def task_loss(self, logit: Tensor, target: Tensor, weight: Tensor, task: str) -> Tensor:
        """Per-sample loss ``[B]`` of one task after shift search, edge band, negative weight, bootstrapping."""
        o = self.options
        labelled_weight = weight
        if o.max_shift_px:
            target = best_shift(logit, target, weight, max_shift_px=o.max_shift_px, step_px=o.shift_step_px)
        if o.ignore_edge_px:
            weight = weight * (1 - edge_band(target, o.ignore_edge_px))
        if o.negative_weight < 1:
            weight = weight * torch.where(target > 0.5, 1.0, o.negative_weight)
        if o.gap_px and task == "buildings":
            weight = torch.where((gaps(target, o.gap_px) > 0) & (labelled_weight > 0), o.gap_weight, weight)
        if o.bootstrap_beta < 1:
            target = o.bootstrap_beta * target + (1 - o.bootstrap_beta) * torch.sigmoid(logit).detach()
        return self.bce_weight * per_sample_bce(
            logit, target, weight, self.pos_weight.get(task)
        ) + self.dice_weight * per_sample_dice(logit, target, weight)

    def forward(self, logits: Mapping[str, Tensor], batch: Mapping) -> tuple[Tensor, dict[str, float]]:
        valid = batch["valid"].bool()
        total = sum(out.float().sum() * 0.0 for out in logits.values())  # every output in the graph (DDP)
        parts: dict[str, float] = {}
        for task in self.tasks:
            labelled = batch["labelled"][task].to(valid.device).bool()
            weight = (valid & labelled.view(-1, 1, 1)).float()
            keep = labelled & (weight.sum((-2, -1)) > 0)
            if not keep.any():
                continue
            losses = self.task_loss(logits[task][:, 0].float(), batch[f"mask_{task}"].float(), weight, task)[keep]
            dropped = math.floor(self.options.drop_highest * len(losses))
            if dropped:
                losses = losses.sort().values[: len(losses) - dropped]
            loss = losses.mean()
            total = total + self.task_weights[task] * loss
            parts[f"{task}/loss"] = float(loss.detach())
            parts[f"{task}/dropped"] = float(dropped)
        parts["loss"] = float(total.detach())
        return total, parts


def build_weak_loss(config: WeakTrainConfig) -> WeakLabelLoss:
    loss = config.loss
    return WeakLabelLoss(
        config.model.tasks,
        options=config.weak_labels,
        bce_weight=loss.bce_weight,
        dice_weight=loss.dice_weight,
        task_weights=loss.task_weights,
        pos_weight=loss.pos_weight,
    )


def train_weak(config: WeakTrainConfig, *, resume: bool = False, overwrite: bool = False) -> TrainResult:
    """``geovision train`` with the weak-label loss (data-parallel under torchrun like ``train``)."""
    return train(config, resume=resume, overwrite=overwrite, loss_fn=build_weak_loss(config))


def corrupt_footprints(
    frame: gpd.GeoDataFrame,
    *,
    shift: tuple[float, float] = (0.0, 0.0),
    jitter: float = 0.0,
    drop: float = 0.0,
    extra: float = 0.0,
    seed: int = 0,
) -> gpd.GeoDataFrame:
    """OSM-style label noise in the frame's units: a common ``shift`` (x, y) (misregistration),
    per-feature Gaussian ``jitter``, a ``drop`` fraction missing, and ``extra`` x n spurious copies
    of features placed at random within the bounds."""
    rng = np.random.default_rng(seed)
    kept = frame[rng.random(len(frame)) >= drop].copy()
    geoms = kept.geometry.to_numpy()
    if len(geoms):
        coords, index = shapely.get_coordinates(geoms, return_index=True)
        offsets = rng.normal(0.0, jitter, (len(geoms), 2)) if jitter else np.zeros((len(geoms), 2))
        geoms = shapely.set_coordinates(geoms.copy(), coords + offsets[index] + np.asarray(shift))
        kept = kept.set_geometry(gpd.GeoSeries(geoms, index=kept.index, crs=frame.crs))
    n_extra = int(round(extra * len(frame)))
    if n_extra and len(frame):
        xmin, ymin, xmax, ymax = frame.total_bounds
        source = frame.iloc[rng.integers(0, len(frame), n_extra)].copy()
        centroids = shapely.get_coordinates(shapely.centroid(source.geometry.to_numpy()))
        targets = np.column_stack([rng.uniform(xmin, xmax, n_extra), rng.uniform(ymin, ymax, n_extra)])
        moved = [
            shapely.affinity.translate(g, *(t - c)) for g, t, c in zip(source.geometry, targets, centroids, strict=True)
        ]
        source = source.set_geometry(gpd.GeoSeries(moved, index=source.index, crs=frame.crs))
        kept = gpd.GeoDataFrame(pd.concat([kept, source]), crs=frame.crs)
    return kept.reset_index(drop=True)

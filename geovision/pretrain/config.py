"""Pretraining configs (strict pydantic, YAML): SSL, teacher/student distillation, weak-label training.

``distill`` and ``weak`` configs are training configs (:class:`~geovision.train.config.TrainConfig`)
with one extra section; ``ssl`` has its own data section of unlabelled images and reuses the
``optim`` and ``trainer`` sections of training (LR scaling, warm-up, accumulation, DDP).
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, model_validator

from geovision.config import StrictModel, read_yaml
from geovision.models.bundle import Normalization
from geovision.models.encoders import DEFAULT_ENCODER
from geovision.train.config import RunFolderConfig, TrainConfig, parse_config


class UnlabelledSource(StrictModel):
    """Images without labels: a path or glob (GeoTIFF or PNG/JPEG), optionally paired with another date.

    ``pair``: the same place on the same pixel grid at another date (e.g. the post image of a
    pre image); with ``views.pair_prob`` the two views of a positive come from the two dates.
    """

    name: str | None = None
    image: str
    pair: str | None = None
    gsd_m: float | None = Field(None, gt=0)  # required for images without georeference
    bands: list[int] | None = None
    weight: float = Field(1.0, gt=0)
    licence: str = "unknown"


class UnlabelledData(StrictModel):
    chip_px: int = Field(128, ge=32)
    gsd_m: float = Field(0.5, gt=0)
    bands: tuple[str, ...] = ("red", "green", "blue")
    normalization: Normalization = Normalization(mean=(127.5,) * 3, std=(127.5,) * 3)
    sources: list[UnlabelledSource]
    min_valid: float = Field(0.5, ge=0, le=1)
    workers: int = Field(0, ge=0)


class ViewsConfig(StrictModel):
    """Remote-sensing view augmentations (no colour-to-grey: colour carries land cover)."""

    crop_scale: tuple[float, float] = (0.3, 1.0)  # area fraction of the random resized crop
    flips: bool = True
    rot90: bool = True  # overhead imagery has no "up"
    brightness: float = Field(0.3, ge=0)
    contrast: float = Field(0.3, ge=0)
    saturation: float = Field(0.2, ge=0)
    blur_prob: float = Field(0.5, ge=0, le=1)
    blur_sigma: tuple[float, float] = (0.1, 1.5)
    noise_std: float = Field(0.02, ge=0)
    pair_prob: float = Field(0.5, ge=0, le=1)  # views from two dates of one place, where paired


class EncoderConfig(StrictModel):
    encoder: str = DEFAULT_ENCODER
    encoder_depth: int = Field(5, ge=3, le=5)
    encoder_weights: Literal["imagenet"] | None = None  # start point of pretraining
    in_channels: int = Field(3, ge=1)


class MethodConfig(StrictModel):
    """MoCo v2 (momentum key encoder + queue of negatives) or SimCLR (in-batch negatives)."""

    name: Literal["moco", "simclr"] = "moco"
    dim: int = Field(128, ge=8)
    hidden_dim: int = Field(512, ge=8)
    temperature: float = Field(0.2, gt=0)
    queue: int = Field(4096, ge=1)  # moco
    momentum: float = Field(0.99, ge=0, le=1)  # moco key encoder EMA


class SSLConfig(RunFolderConfig):
    KIND = "pretrain"

    name: str = "ssl"
    model: EncoderConfig = EncoderConfig()
    data: UnlabelledData
    views: ViewsConfig = ViewsConfig()
    method: MethodConfig = MethodConfig()

    @model_validator(mode="after")
    def _consistent(self) -> SSLConfig:
        n = self.model.in_channels
        if len(self.data.bands) != n or len(self.data.normalization.mean) != n:
            raise ValueError(f"data.bands and data.normalization must match model.in_channels ({n})")
        return self


class DistillSection(StrictModel):
    """Teacher/student: the teacher bundle labels ``unlabelled`` images; the student (``model``) learns
    them for ``steps`` steps, then fine-tunes on ``data.train`` for ``trainer.steps``."""

    teacher: str  # bundle folder (absolute, or relative to the current folder)
    unlabelled: list[UnlabelledSource]
    steps: int = Field(500, ge=1)
    warmup_steps: int = Field(50, ge=0)
    soft: bool = True  # teacher probabilities as targets; false: 0/1 at the teacher's thresholds
    temperature: float = Field(1.0, gt=0)  # teacher logits / T before the sigmoid
    finetune: bool = True


class DistillConfig(TrainConfig):
    distill: DistillSection


class WeakLabelConfig(StrictModel):
    """Robustness to noisy/misaligned vector labels (all off by default)."""

    max_shift_px: int = Field(0, ge=0)  # target may be misregistered by up to this many pixels
    shift_step_px: int = Field(1, ge=1)
    ignore_edge_px: int = Field(0, ge=0)  # no loss within this distance of a label edge
    negative_weight: float = Field(1.0, ge=0, le=1)  # trust in "background" (missing footprints)
    bootstrap_beta: float = Field(1.0, ge=0, le=1)  # soft bootstrapping: beta*label + (1-beta)*prediction
    drop_highest: float = Field(0.0, ge=0, lt=1)  # per task, drop this fraction of highest-loss samples
    gap_px: int = Field(0, ge=0)  # buildings: background in gaps narrower than 2 x gap_px between footprints ...
    gap_weight: float = Field(1.0, ge=1)  # ... weighs this much (and is never ignored), to keep neighbours apart


class WeakTrainConfig(TrainConfig):
    weak_labels: WeakLabelConfig = WeakLabelConfig()


def load_ssl_config(path: str | os.PathLike[str], raw: dict | None = None) -> SSLConfig:
    return parse_config(path=path, raw=read_yaml(path) if raw is None else raw, model=SSLConfig)


def load_distill_config(path: str | os.PathLike[str], raw: dict | None = None) -> DistillConfig:
    return parse_config(path=path, raw=read_yaml(path) if raw is None else raw, model=DistillConfig)


def load_weak_config(path: str | os.PathLike[str], raw: dict | None = None) -> WeakTrainConfig:
    return parse_config(path=path, raw=read_yaml(path) if raw is None else raw, model=WeakTrainConfig)

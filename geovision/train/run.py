"""``geovision train``: build everything from a :class:`TrainConfig`, train, checkpoint, export a bundle.

Output folder layout::

    <output_dir>/config.yaml            the resolved config
    <output_dir>/metrics.jsonl          one JSON line per logged step / validation
    <output_dir>/checkpoints/last.pt    resumable state (also step_<n>.pt, best.pt)
    <output_dir>/model/                 the exported bundle (model.json + model.safetensors)
    <output_dir>/cache/                 generated synthetic scenes
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from torch.utils.data import DataLoader, Subset

from geovision.data.augment import Augment
from geovision.data.samples import ChipReader, GridWindows, RandomWindows
from geovision.data.scenes import Scene, geotiff_scene, image_scene, synthetic_scenes, xbd_scene
from geovision.errors import OutputExistsError
from geovision.models.bundle import BundleMeta, DataSource, TrainingInfo, save_bundle
from geovision.models.multitask import MultiTaskSegmenter
from geovision.models.multitask import build_model as build_multitask
from geovision.train.checkpoint import LAST, load_checkpoint, prune_checkpoints, save_checkpoint
from geovision.train.config import (GeoTiffSource, ImageSource, SyntheticSource, TrainConfig, XbdSource)
from geovision.train.device import select_device, select_precision, use_channels_last
from geovision.train.engine import Trainer, unwrap
from geovision.train.losses import MultiTaskLoss
from geovision.train.optim import build_optimizer, build_scheduler, scale_lr

log = logging.getLogger(__name__)


# -- builders -------------------------------------------------------------------------
def build_model(config: TrainConfig, *, pretrained: bool = True) -> MultiTaskSegmenter:
    """The model of a training config."""
    return build_multitask(config.model, pretrained=pretrained)


def build_scenes(config: TrainConfig, sources: list, *, cache_dir: Path) -> list[Scene]:
    """Open every source of a split as scenes (synthetic ones are generated into ``cache_dir``)."""
    scenes: list[Scene] = []
    for source in sources:
        common = {"weight": source.weight}
        if isinstance(source, GeoTiffSource):
            scenes.append(geotiff_scene(config.resolve(source.image),
                                        {t: config.resolve(p) for t, p in source.labels.items()},
                                        bands=source.bands, gsd_m=source.gsd_m, line_width_m=source.line_width_m,
                                        boundary_px=source.boundary_px, name=source.name, **common))
        elif isinstance(source, ImageSource):
            scenes.append(image_scene(config.resolve(source.image),
                                      {t: config.resolve(p) for t, p in source.masks.items()},
                                      gsd_m=source.gsd_m, bands=source.bands, threshold=source.threshold,
                                      name=source.name, **common))
        elif isinstance(source, XbdSource):
            scenes.append(xbd_scene(config.resolve(source.image), config.resolve(source.labels),
                                    gsd_m=source.gsd_m, task=source.task, exclude_subtypes=source.exclude_subtypes,
                                    boundary_px=source.boundary_px,
                                    name=source.name, **common))
        elif isinstance(source, SyntheticSource):
            scenes.extend(synthetic_scenes(cache_dir / "synthetic", count=source.count, width=source.width,
                                           height=source.height, gsd_m=source.gsd_m, seed=source.seed,
                                           events=source.events, dates=source.dates, **common))
    return scenes


def build_loaders(config: TrainConfig, *, start_step: int = 0, cache_dir: Path,
                  device: torch.device) -> tuple[DataLoader, DataLoader | None]:
    """Training loader over random windows from ``start_step`` on, and a validation grid loader."""
    data, trainer = config.data, config.trainer
    reader = ChipReader(tasks=config.model.tasks, chip_px=data.chip_px, gsd_m=data.gsd_m,
                        mean=data.normalization.mean, std=data.normalization.std)
    augment = Augment(flips=data.augment.flips, rot90=data.augment.rot90, scale=data.augment.scale,
                      brightness=data.augment.brightness, contrast=data.augment.contrast)
    batch = trainer.batch_size
    train_set = RandomWindows(build_scenes(config, data.train, cache_dir=cache_dir), reader,
                              length=trainer.steps * batch, seed=trainer.seed, augment=augment,
                              min_valid=data.min_valid)
    common = {"num_workers": data.workers, "pin_memory": device.type == "cuda",
              "persistent_workers": data.workers > 0}
    train_loader = DataLoader(Subset(train_set, range(start_step * batch, len(train_set))), batch_size=batch,
                              shuffle=False, drop_last=True, **common)
    val_loader = None
    if data.val:
        val_set = GridWindows(build_scenes(config, data.val, cache_dir=cache_dir), reader)
        val_loader = DataLoader(val_set, batch_size=batch, shuffle=False, **common)
    return train_loader, val_loader


def build_trainer(config: TrainConfig, model: MultiTaskSegmenter, *, device: torch.device,
                  hooks: list, world_size: int = 1) -> Trainer:
    """Optimiser (AdamW, LR scaled to the global batch), warm-up + cosine schedule, loss and engine."""
    optim, trainer = config.optim, config.trainer
    lr = scale_lr(optim.lr, batch_size=trainer.batch_size * world_size, base_batch_size=optim.base_batch_size)
    optimizer = build_optimizer(model, lr=lr, weight_decay=optim.weight_decay, betas=optim.betas,
                                encoder_lr_mult=optim.encoder_lr_mult)
    scheduler = build_scheduler(optimizer, warmup_steps=optim.warmup_steps, total_steps=trainer.steps,
                                min_lr_ratio=optim.min_lr_ratio)
    loss = MultiTaskLoss(config.model.tasks, bce_weight=config.loss.bce_weight, dice_weight=config.loss.dice_weight,
                         task_weights=config.loss.task_weights, pos_weight=config.loss.pos_weight)
    return Trainer(model, optimizer=optimizer, scheduler=scheduler, loss_fn=loss, device=device,
                   precision=select_precision(device, trainer.amp),
                   channels_last=use_channels_last(device, trainer.channels_last), grad_clip=optim.grad_clip,
                   hooks=hooks, thresholds=config.bundle.thresholds)


def bundle_meta(config: TrainConfig, *, steps: int, metrics: dict[str, float]) -> BundleMeta:
    """Bundle metadata from a training config (sources and licences, held-out data, metrics)."""
    data = [DataSource(name=s.name or getattr(s, "image", s.kind), licence=s.licence)
            for s in config.data.train]
    thresholds = {t: config.bundle.thresholds.get(t, 0.5) for t in config.model.tasks}
    return BundleMeta(name=config.bundle.name, version=config.bundle.version, architecture=config.model,
                      bands=config.data.bands, normalization=config.data.normalization, gsd_m=config.data.gsd_m,
                      thresholds=thresholds, licence=config.bundle.licence,
                      training=TrainingInfo(data=data, held_out=config.bundle.held_out, steps=steps,
                                            config=config.model_dump(mode="json"), metrics=metrics))


# -- hooks ----------------------------------------------------------------------------
class MetricsLog:
    """Appends step logs (every ``every`` steps) and validation metrics to a JSON-lines file."""

    def __init__(self, path: Path, *, every: int):
        self.path = path
        self.every = every
        self.started = time.perf_counter()

    def _write(self, record: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(record) + "\n")

    def on_step(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        if step % self.every == 0 or step == 1:
            elapsed = time.perf_counter() - self.started
            self._write({"step": step, "time_s": round(elapsed, 2), **logs})
            log.info("step %d loss %.4f lr %.2e", step, logs["loss"], logs["lr"])

    def on_validation(self, trainer: Trainer, step: int, metrics: dict[str, float]) -> None:
        self._write({"step": step, "validation": metrics})
        log.info("step %d validation %s", step, ", ".join(f"{k} {v:.3f}" for k, v in sorted(metrics.items())))


class Checkpointer:
    """Saves ``last.pt`` (and ``step_<n>.pt``) every ``every`` steps and at the end; ``best.pt`` by mean IoU."""

    def __init__(self, folder: Path, *, every: int, keep: int):
        self.folder = folder
        self.every = every
        self.keep = keep
        self.best = -math.inf
        self.latest_metrics: dict[str, float] = {}

    def save(self, trainer: Trainer, step: int) -> None:
        state = trainer.state_dict()
        state["best_score"] = self.best
        save_checkpoint(self.folder / f"step_{step:07d}.pt", state)
        shutil.copyfile(self.folder / f"step_{step:07d}.pt", self.folder / f".{LAST}.tmp")
        (self.folder / f".{LAST}.tmp").replace(self.folder / LAST)
        prune_checkpoints(self.folder, keep=self.keep)

    def on_step(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        if step % self.every == 0:
            self.save(trainer, step)

    def on_validation(self, trainer: Trainer, step: int, metrics: dict[str, float]) -> None:
        self.latest_metrics = metrics
        score = metrics.get("mean_iou", -math.inf)
        if score > self.best:
            self.best = score
            save_checkpoint(self.folder / "best.pt", {"step": step, "model": unwrap(trainer.model).state_dict(),
                                                      "metrics": metrics})

    def on_end(self, trainer: Trainer, step: int) -> None:
        if not (self.folder / f"step_{step:07d}.pt").exists():
            self.save(trainer, step)


# -- the job --------------------------------------------------------------------------
@dataclass
class TrainResult:
    bundle: Path
    step: int
    metrics: dict[str, float] = field(default_factory=dict)


def prepare_output(config: TrainConfig, *, resume: bool, overwrite: bool) -> Path:
    """Create the output folder; refuse to clobber an earlier run unless resuming or overwriting."""
    out = config.out_dir
    checkpoints = out / "checkpoints"
    if checkpoints.exists() and not resume:
        if not overwrite:
            raise OutputExistsError("a training run already exists here", path=out,
                                    fix="pass --resume to continue it, --overwrite to start again, "
                                        "or choose another --output-dir")
        shutil.rmtree(checkpoints)
        for name in ("metrics.jsonl", "model"):
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    checkpoints.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    return out


def train(config: TrainConfig, *, resume: bool = False, overwrite: bool = False) -> TrainResult:
    """Train a multi-task model from ``config`` and export its bundle to ``<output_dir>/model``."""
    torch.manual_seed(config.trainer.seed)
    out = prepare_output(config, resume=resume, overwrite=overwrite)
    device = select_device(config.trainer.device)
    state = None
    if resume:
        if (out / "checkpoints" / LAST).exists():
            state = load_checkpoint(out / "checkpoints" / LAST)
        else:
            log.warning("--resume: no checkpoint in %s yet, starting from step 0", out / "checkpoints")
    model = build_model(config, pretrained=state is None)
    checkpointer = Checkpointer(out / "checkpoints", every=config.trainer.checkpoint_every,
                                keep=config.trainer.keep_checkpoints)
    hooks = [MetricsLog(out / "metrics.jsonl", every=config.trainer.log_every), checkpointer]
    trainer = build_trainer(config, model, device=device, hooks=hooks)
    if state is not None:
        trainer.load_state_dict(state)
        checkpointer.best = float(state.get("best_score", -math.inf))
        log.info("resumed from step %d", trainer.step)
    train_loader, val_loader = build_loaders(config, start_step=trainer.step, cache_dir=out / "cache",
                                             device=device)
    metrics = trainer.fit(train_loader, steps=config.trainer.steps, val_loader=val_loader,
                          val_every=config.trainer.val_every)
    export = unwrap(trainer.model).to("cpu")
    if config.bundle.select == "best" and (out / "checkpoints" / "best.pt").exists():
        best = load_checkpoint(out / "checkpoints" / "best.pt")
        export.load_state_dict(best["model"])
        metrics = best["metrics"]
    meta = bundle_meta(config, steps=trainer.step, metrics=metrics or checkpointer.latest_metrics)
    bundle = save_bundle(out / "model", export, meta, overwrite=True, dtype=config.bundle.dtype)
    return TrainResult(bundle=bundle, step=trainer.step, metrics=meta.training.metrics)

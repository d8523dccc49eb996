"""``geovision train``: build everything from a :class:`TrainConfig`, train, checkpoint, export a bundle.

Output folder layout::

    <output_dir>/config.yaml            the resolved config
    <output_dir>/metrics.jsonl          one JSON line per logged step / validation
    <output_dir>/checkpoints/last.pt    resumable state (also step_<n>.pt, best.pt)
    <output_dir>/checkpoints/resolved.yaml  the config plus world size, global batch and scaled LR
    <output_dir>/model/                 the exported bundle (model.json + model.safetensors)
    <output_dir>/cache/                 generated synthetic scenes

Under ``torchrun`` every rank trains on its share of each global batch (see
:mod:`geovision.train.distributed`); only rank 0 writes files.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader

from geovision.data.augment import Augment
from geovision.data.pack import pack_scenes
from geovision.data.samples import ChipReader, GridWindows, RandomWindows
from geovision.data.scenes import Scene, geotiff_scene, image_scene, synthetic_scenes, xbd_scene
from geovision.errors import ConfigError, ModelBundleError, OutputExistsError
from geovision.models.bundle import BundleMeta, DataSource, TrainingInfo, save_bundle
from geovision.models.multitask import MultiTaskSegmenter
from geovision.models.multitask import build_model as build_multitask
from geovision.train.checkpoint import LAST, load_checkpoint, prune_checkpoints, save_checkpoint
from geovision.train.config import (
    GeoTiffSource,
    ImageSource,
    OptimConfig,
    SyntheticSource,
    TrainConfig,
    TrainerConfig,
    XbdSource,
)
from geovision.train.device import select_precision, use_channels_last
from geovision.train.distributed import (
    DistContext,
    distributed_session,
    epochs,
    global_batch_size,
    rank_share,
    train_loader,
    wrap_ddp,
)
from geovision.train.engine import ForwardFn, Trainer, image_forward, unwrap
from geovision.train.losses import MultiTaskLoss
from geovision.train.optim import build_optimizer, build_scheduler, scale_lr

ENCODER_FORMAT = "geovision-encoder/1"

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
            scenes.append(
                geotiff_scene(
                    config.resolve(source.image),
                    {t: config.resolve(p) for t, p in source.labels.items()},
                    bands=source.bands,
                    gsd_m=source.gsd_m,
                    line_width_m=source.line_width_m,
                    boundary_px=source.boundary_px,
                    label_nodata=source.label_nodata,
                    name=source.name,
                    **common,
                )
            )
        elif isinstance(source, ImageSource):
            scenes.append(
                image_scene(
                    config.resolve(source.image),
                    {t: config.resolve(p) for t, p in source.masks.items()},
                    gsd_m=source.gsd_m,
                    bands=source.bands,
                    threshold=source.threshold,
                    name=source.name,
                    **common,
                )
            )
        elif isinstance(source, XbdSource):
            scenes.append(
                xbd_scene(
                    config.resolve(source.image),
                    config.resolve(source.labels),
                    gsd_m=source.gsd_m,
                    task=source.task,
                    exclude_subtypes=source.exclude_subtypes,
                    boundary_px=source.boundary_px,
                    name=source.name,
                    **common,
                )
            )
        elif isinstance(source, SyntheticSource):
            scenes.extend(
                synthetic_scenes(
                    cache_dir / "synthetic",
                    count=source.count,
                    width=source.width,
                    height=source.height,
                    gsd_m=source.gsd_m,
                    seed=source.seed,
                    events=source.events,
                    dates=source.dates,
                    **common,
                )
            )
    return scenes


def _scenes(config: TrainConfig, sources: list, cache_dir: Path) -> list:
    scenes = build_scenes(config, sources, cache_dir=cache_dir)
    return pack_scenes(scenes) if config.data.pack else scenes


def build_loaders(
    config: TrainConfig,
    *,
    start_step: int = 0,
    cache_dir: Path,
    device: torch.device,
    context: DistContext = DistContext(),
) -> tuple[DataLoader, DataLoader | None]:
    """Training loader over random windows from ``start_step`` on, and a validation grid loader.

    The sample stream holds whole global batches; each rank loads its share of every step
    and of the validation chips (none twice).
    """
    data, trainer = config.data, config.trainer
    reader = ChipReader(
        tasks=config.model.tasks,
        chip_px=data.chip_px,
        gsd_m=data.gsd_m,
        mean=data.normalization.mean,
        std=data.normalization.std,
    )
    augment = Augment(
        flips=data.augment.flips,
        rot90=data.augment.rot90,
        scale=data.augment.scale,
        brightness=data.augment.brightness,
        contrast=data.augment.contrast,
    )
    sensor = data.augment.sensor.model_copy(update={"gsd_m": data.gsd_m}) if data.augment.sensor else None
    batch = trainer.batch_size
    step_samples = global_batch_size(batch, accumulate=trainer.accumulate, world_size=context.world_size)
    train_set = RandomWindows(
        _scenes(config, data.train, cache_dir),
        reader,
        length=trainer.steps * step_samples,
        seed=trainer.seed,
        augment=augment,
        min_valid=data.min_valid,
        sensor=sensor,
    )
    common = {"num_workers": data.workers, "pin_memory": device.type == "cuda", "persistent_workers": data.workers > 0}
    loader = train_loader(
        train_set, batch_size=batch, context=context, start_sample=start_step * step_samples, **common
    )
    val_loader = None
    if data.val:
        val_set = GridWindows(_scenes(config, data.val, cache_dir), reader)
        val_loader = DataLoader(rank_share(val_set, context), batch_size=batch, shuffle=False, **common)
    return loader, val_loader


def scaled_lr(optim: OptimConfig, trainer: TrainerConfig, *, world_size: int = 1) -> float:
    """``optim.lr`` scaled from ``base_batch_size`` to the global batch by ``optim.lr_scaling``."""
    batch = global_batch_size(trainer.batch_size, accumulate=trainer.accumulate, world_size=world_size)
    return scale_lr(optim.lr, batch_size=batch, base_batch_size=optim.base_batch_size, rule=optim.lr_scaling)


def build_engine(
    model: nn.Module,
    *,
    optim: OptimConfig,
    trainer: TrainerConfig,
    device: torch.device,
    hooks: list,
    loss_fn: nn.Module,
    forward_fn: ForwardFn = image_forward,
    context: DistContext = DistContext(),
    thresholds: dict[str, float] | None = None,
) -> Trainer:
    """AdamW with the LR scaled to the global batch, warm-up + cosine schedule, and the engine.

    ``model`` may be DDP-wrapped; shared by supervised training and pretraining.
    """
    lr = scaled_lr(optim, trainer, world_size=context.world_size)
    optimizer = build_optimizer(
        model, lr=lr, weight_decay=optim.weight_decay, betas=optim.betas, encoder_lr_mult=optim.encoder_lr_mult
    )
    scheduler = build_scheduler(
        optimizer, warmup_steps=optim.warmup_steps, total_steps=trainer.steps, min_lr_ratio=optim.min_lr_ratio
    )
    return Trainer(
        model,
        optimizer=optimizer,
        scheduler=scheduler,
        loss_fn=loss_fn,
        device=device,
        precision=select_precision(device, trainer.amp),
        channels_last=use_channels_last(device, trainer.channels_last),
        grad_clip=optim.grad_clip,
        hooks=hooks,
        thresholds=thresholds,
        accumulate=trainer.accumulate,
        freeze_bn=trainer.freeze_batchnorm,
        forward_fn=forward_fn,
        all_reduce=context.all_reduce_sum if context.distributed else None,
        deadline=time.monotonic() + trainer.max_minutes * 60 if trainer.max_minutes else None,
    )


def build_trainer(
    config: TrainConfig,
    model: nn.Module,
    *,
    device: torch.device,
    hooks: list,
    world_size: int = 1,
    loss_fn: nn.Module | None = None,
    context: DistContext | None = None,
) -> Trainer:
    """The engine of a training config; ``loss_fn`` replaces the configured multi-task loss."""
    if context is None:
        context = DistContext(world_size=world_size)
    if loss_fn is None:
        loss_fn = MultiTaskLoss(
            config.model.tasks,
            bce_weight=config.loss.bce_weight,
            dice_weight=config.loss.dice_weight,
            task_weights=config.loss.task_weights,
            pos_weight=config.loss.pos_weight,
        )
    return build_engine(
        model,
        optim=config.optim,
        trainer=config.trainer,
        device=device,
        hooks=hooks,
        loss_fn=loss_fn,
        context=context,
        thresholds=config.bundle.thresholds,
    )


# -- initial weights ------------------------------------------------------------------
def save_encoder(path: str | Path, encoder: nn.Module, *, meta: dict[str, str], overwrite: bool = True) -> Path:
    """Write an encoder's weights as safetensors with string metadata (``format``, ``encoder`` ...)."""
    from safetensors.torch import save_file

    from geovision.io.atomic import atomic_output

    weights = {
        k: v.detach().float().cpu().contiguous() if v.is_floating_point() else v.detach().cpu().contiguous()
        for k, v in encoder.state_dict().items()
    }
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp:
        save_file(weights, str(tmp), metadata={"format": ENCODER_FORMAT, **{k: str(v) for k, v in meta.items()}})
    return path


def read_encoder(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Weights and metadata of an encoder file written by :func:`save_encoder` (no unpickling)."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = dict(handle.metadata() or {})
        weights = load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as error:
        raise ModelBundleError(
            f"cannot read encoder weights: {str(error)[:200]}",
            path=path,
            fix="give an encoder.safetensors written by `geovision pretrain`",
        ) from error
    if meta.get("format") != ENCODER_FORMAT:
        raise ModelBundleError(
            f"not a geovision encoder file (format {meta.get('format')!r})",
            path=path,
            fix="give an encoder.safetensors written by `geovision pretrain`",
        )
    return weights, meta


def init_weights(model: MultiTaskSegmenter, path: str | Path) -> str:
    """Start ``model`` from a pretrained encoder file (``.safetensors``) or a whole bundle folder.

    The encoder name and band count must match; returns what was loaded (``encoder`` / ``model``).
    """
    from geovision.models.bundle import load_bundle

    path = Path(path)
    if path.is_dir():
        bundle = load_bundle(path)
        if bundle.meta.architecture != model.spec:
            raise ConfigError(
                "init_from bundle has another architecture than model",
                path=path,
                fix="copy the bundle's model section into the config, or init from an encoder file",
            )
        model.load_state_dict(bundle.model.state_dict(), strict=True)
        return "model"
    if not path.is_file():
        raise ConfigError(
            "init_from does not exist",
            path=path,
            fix="give an encoder.safetensors from `geovision pretrain ssl` or a bundle folder",
        )
    weights, meta = read_encoder(path)
    spec = model.spec
    if meta.get("encoder") != spec.encoder or meta.get("in_channels") != str(spec.in_channels):
        raise ConfigError(
            f"encoder file is {meta.get('encoder')} with {meta.get('in_channels')} bands, the model "
            f"{spec.encoder} with {spec.in_channels}",
            path=path,
            fix="use the same encoder and bands in pretraining and training",
        )
    try:
        model.encoder.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        raise ModelBundleError(f"encoder weights do not fit: {str(error)[:200]}", path=path) from error
    return "encoder"


def training_sources(sources: list) -> list[DataSource]:
    """One :class:`DataSource` per configured source; the files of one registry entry (``entry: file``) as one."""
    groups: dict[str, list] = {}
    for source in sources:
        name = source.name or getattr(source, "image", source.kind)
        groups.setdefault(name.split(": ")[0] if ": " in name else name, []).append(source)
    return [
        DataSource(
            name=name,
            licence=members[0].licence,
            notes=f"{len(members)} files (data registry)" if len(members) > 1 else None,
        )
        for name, members in groups.items()
    ]


def bundle_meta(config: TrainConfig, *, steps: int, metrics: dict[str, float]) -> BundleMeta:
    """Bundle metadata from a training config (sources and licences, held-out data, metrics)."""
    data = training_sources(config.data.train)
    thresholds = {t: config.bundle.thresholds.get(t, 0.5) for t in config.model.tasks}
    return BundleMeta(
        name=config.bundle.name,
        version=config.bundle.version,
        architecture=config.model,
        bands=config.data.bands,
        normalization=config.data.normalization,
        gsd_m=config.data.gsd_m,
        thresholds=thresholds,
        licence=config.bundle.licence,
        training=TrainingInfo(
            data=data,
            held_out=config.bundle.held_out,
            steps=steps,
            config=config.model_dump(mode="json"),
            metrics=metrics,
        ),
    )


# -- hooks ----------------------------------------------------------------------------
def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class MetricsLog:
    """Appends step logs (every ``every`` steps) and validation metrics to a JSON-lines file."""

    def __init__(self, path: Path, *, every: int, steps: int | None = None):
        self.path = path
        self.every = every
        self.steps = steps
        self.started = time.perf_counter()
        self.first_step: int | None = None

    def _write(self, record: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(record) + "\n")

    def on_step(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        if self.first_step is None:  # time this process's steps only (a resumed run starts late)
            self.first_step, self.started = step - 1, time.perf_counter()
        if step % self.every == 0 or step == 1:
            elapsed = time.perf_counter() - self.started
            rate = (step - self.first_step) / elapsed if step - self.first_step > 1 else 0.0
            eta = (self.steps - step) / rate if self.steps and rate > 0 else 0.0
            self._write({"step": step, "time_s": round(elapsed, 2), "steps_per_s": round(rate, 4), **logs})
            log.info(
                "step %d/%s loss %.4f lr %.2e | %.2f steps/s, ETA %s",
                step,
                self.steps or "?",
                logs["loss"],
                logs["lr"],
                rate,
                _duration(eta),
            )

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
            save_checkpoint(
                self.folder / "best.pt", {"step": step, "model": unwrap(trainer.model).state_dict(), "metrics": metrics}
            )

    def on_end(self, trainer: Trainer, step: int) -> None:
        if not (self.folder / f"step_{step:07d}.pt").exists():
            self.save(trainer, step)


# -- the job --------------------------------------------------------------------------
@dataclass
class TrainResult:
    bundle: Path
    step: int
    metrics: dict[str, float] = field(default_factory=dict)


def check_output(config: TrainConfig, *, resume: bool, overwrite: bool) -> None:
    """Refuse to clobber an earlier run unless resuming or overwriting (read-only: safe on every rank)."""
    out = config.out_dir
    if (out / "checkpoints").exists() and not resume and not overwrite:
        raise OutputExistsError(
            "a training run already exists here",
            path=out,
            fix="pass --resume to continue it, --overwrite to start again, or choose another --output-dir",
        )


def prepare_output(config: TrainConfig, *, resume: bool, overwrite: bool) -> Path:
    """Create the output folder; refuse to clobber an earlier run unless resuming or overwriting."""
    check_output(config, resume=resume, overwrite=overwrite)
    out = config.out_dir
    checkpoints = out / "checkpoints"
    if checkpoints.exists() and not resume:
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


def write_resolved(folder: Path, config: TrainConfig, context: DistContext) -> Path:
    """``resolved.yaml`` beside the checkpoints: the config plus ranks, global batch and the scaled LR."""
    trainer = config.trainer
    runtime = {
        "world_size": context.world_size,
        "backend": context.backend or "none",
        "batch_size_per_rank": trainer.batch_size,
        "accumulate": trainer.accumulate,
        "global_batch_size": global_batch_size(
            trainer.batch_size, accumulate=trainer.accumulate, world_size=context.world_size
        ),
        "base_lr": config.optim.lr,
        "base_batch_size": config.optim.base_batch_size,
        "lr_scaling": config.optim.lr_scaling,
        "lr": scaled_lr(config.optim, config.trainer, world_size=context.world_size),
        "warmup_steps": config.optim.warmup_steps,
    }
    path = folder / "resolved.yaml"
    text = yaml.safe_dump({"runtime": runtime, "config": config.model_dump(mode="json")}, sort_keys=False)
    tmp = folder / ".resolved.yaml.tmp"
    tmp.write_text(text)
    tmp.replace(path)
    return path


def start_run(
    config: TrainConfig, context: DistContext, *, resume: bool, overwrite: bool
) -> tuple[Path, dict[str, Any] | None]:
    """Check and (rank 0) prepare the output folder; every rank reads the resume state, if any."""
    check_output(config, resume=resume, overwrite=overwrite)
    context.barrier()  # every rank has checked before rank 0 changes anything
    out = config.out_dir
    if context.is_main:
        prepare_output(config, resume=resume, overwrite=overwrite)
        write_resolved(out / "checkpoints", config, context)
    context.barrier()
    state = None
    if resume:
        if (out / "checkpoints" / LAST).exists():
            state = load_checkpoint(out / "checkpoints" / LAST)
        else:
            log.warning("--resume: no checkpoint in %s yet, starting from step 0", out / "checkpoints")
    return out, state


def run_hooks(config: TrainConfig, out: Path, context: DistContext) -> tuple[list, Checkpointer | None]:
    """Logging and checkpoint hooks: on rank 0 only (other ranks write nothing)."""
    if not context.is_main:
        return [], None
    checkpointer = Checkpointer(
        out / "checkpoints", every=config.trainer.checkpoint_every, keep=config.trainer.keep_checkpoints
    )
    return [
        MetricsLog(out / "metrics.jsonl", every=config.trainer.log_every, steps=config.trainer.steps),
        checkpointer,
    ], checkpointer


# (config, start_step, cache_dir, device, context) -> (training batches, validation loader or None)
LoaderFactory = Callable[..., tuple[Iterable, Iterable | None]]


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    loss_fn: nn.Module | None = None,
    loaders: LoaderFactory | None = None,
) -> TrainResult:
    """Train a multi-task model from ``config`` and export its bundle to ``<output_dir>/model``.

    Under ``torchrun`` this is data-parallel (one rank per process). ``loss_fn`` replaces the
    configured loss (e.g. a weak-label loss); ``loaders`` replaces :func:`build_loaders`
    (called with the same keywords, e.g. to train on pseudo-labels).
    """
    with distributed_session(config.trainer.device, config.trainer.dist_backend) as (context, device):
        return _train(
            config,
            context,
            device,
            resume=resume,
            overwrite=overwrite,
            loss_fn=loss_fn,
            loaders=loaders or build_loaders,
        )


def _train(
    config: TrainConfig,
    context: DistContext,
    device: torch.device,
    *,
    resume: bool,
    overwrite: bool,
    loss_fn: nn.Module | None,
    loaders: LoaderFactory,
) -> TrainResult:
    torch.manual_seed(config.trainer.seed)
    out, state = start_run(config, context, resume=resume, overwrite=overwrite)
    model = build_model(config, pretrained=state is None and config.init_from is None)
    if state is None and config.init_from is not None:
        log.info("initialised the %s from %s", init_weights(model, config.init_from), config.init_from)
    hooks, checkpointer = run_hooks(config, out, context)
    memory = torch.channels_last if use_channels_last(device, config.trainer.channels_last) else torch.contiguous_format
    model = wrap_ddp(
        model.to(device, memory_format=memory), context, device, sync_batchnorm=config.trainer.sync_batchnorm
    )
    trainer = build_trainer(config, model, device=device, hooks=hooks, loss_fn=loss_fn, context=context)
    if state is not None:
        trainer.load_state_dict(state)
        if checkpointer is not None:
            checkpointer.best = float(state.get("best_score", -math.inf))
        log.info("resumed from step %d", trainer.step)
    with context.main_first():  # rank 0 generates the synthetic cache, the others then read it
        loader, val_loader = loaders(
            config, start_step=trainer.step, cache_dir=out / "cache", device=device, context=context
        )
    batches = epochs(loader) if isinstance(loader, DataLoader) else loader
    metrics = trainer.fit(
        batches, steps=config.trainer.steps, val_loader=val_loader, val_every=config.trainer.val_every
    )
    bundle = out / "model"
    if context.is_main:
        export = unwrap(trainer.model).to("cpu")
        if config.bundle.select == "best" and (out / "checkpoints" / "best.pt").exists():
            best = load_checkpoint(out / "checkpoints" / "best.pt")
            export.load_state_dict(best["model"])
            metrics = best["metrics"]
        meta = bundle_meta(config, steps=trainer.step, metrics=metrics or checkpointer.latest_metrics)
        save_bundle(bundle, export, meta, overwrite=True, dtype=config.bundle.dtype)
        metrics = meta.training.metrics
    context.barrier()
    return TrainResult(bundle=bundle, step=trainer.step, metrics=metrics)

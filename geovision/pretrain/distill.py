"""Semi-supervised teacher/student training (Yalniz et al. 2019, "billion-scale semi-supervised").

A trained (larger) teacher bundle predicts soft masks on unlabelled imagery; a (smaller,
faster) student, described by the config's ``model``, learns those pseudo-labels for
``distill.steps`` steps, then fine-tunes on the labelled ``data.train`` for ``trainer.steps``.
Both phases are ordinary ``geovision train`` runs (checkpoints, resume, DDP, bundles):
``<output_dir>/pseudo`` and ``<output_dir>/finetune``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from geovision.data.augment import Augment
from geovision.data.samples import ChipReader, GridWindows, RandomWindows
from geovision.errors import ConfigError
from geovision.models.bundle import DataSource, ModelBundle, load_bundle, read_meta, write_meta
from geovision.pretrain.config import DistillConfig
from geovision.pretrain.data import unlabelled_scenes
from geovision.train.config import TrainConfig
from geovision.train.device import select_precision
from geovision.train.distributed import DistContext, epochs, global_batch_size, rank_share, train_loader
from geovision.train.run import TrainResult, build_scenes, train

log = logging.getLogger(__name__)


class PseudoLabeller:
    """Adds the teacher's predictions to batches as ``mask_<task>`` targets (soft or 0/1).

    Student images are normalised with the student's statistics; they are mapped back to raw
    units and normalised with the teacher's before the teacher sees them.
    """

    def __init__(
        self,
        teacher: ModelBundle,
        *,
        tasks: tuple[str, ...],
        mean: tuple[float, ...],
        std: tuple[float, ...],
        soft: bool = True,
        temperature: float = 1.0,
        device: torch.device = torch.device("cpu"),
        amp: str = "auto",
    ):
        missing = sorted(set(tasks) - set(teacher.model.tasks))
        if missing == sorted(tasks):
            raise ConfigError(
                f"the teacher predicts {list(teacher.model.tasks)}, none of the student's tasks {list(tasks)}",
                path=teacher.path,
                fix="use a teacher trained on these tasks",
            )
        if len(teacher.meta.normalization.mean) != len(mean):
            raise ConfigError(
                "teacher and student use different band counts",
                path=teacher.path,
                fix="use the teacher's bands for the student",
            )
        self.teacher = teacher.model.to(device).eval()
        self.tasks = tuple(t for t in tasks if t in teacher.model.tasks)
        self.all_tasks = tuple(tasks)
        self.thresholds = teacher.meta.thresholds
        self.soft = soft
        self.temperature = temperature
        self.device = device
        self.precision = select_precision(device, amp)
        view = (1, -1, 1, 1)
        student_mean, student_std = torch.tensor(mean).view(view), torch.tensor(std).view(view)
        teacher_mean = torch.tensor(teacher.meta.normalization.mean).view(view)
        teacher_std = torch.tensor(teacher.meta.normalization.std).view(view)
        # x_teacher = (x_student * std_s + mean_s - mean_t) / std_t = x_student * scale + offset
        self.scale = (student_std / teacher_std).to(device)
        self.offset = ((student_mean - teacher_mean) / teacher_std).to(device)

    @torch.no_grad()
    def __call__(self, batch: dict) -> dict:
        image = batch["image"].to(self.device)
        valid = batch["valid"].to(self.device)
        x = (image * self.scale + self.offset) * valid[:, None]
        with self.precision.autocast():
            logits = self.teacher(x)
        out = dict(batch)
        out["labelled"] = {}
        for task in self.all_tasks:
            if task not in self.tasks:
                out[f"mask_{task}"] = torch.zeros_like(valid, dtype=torch.float32)
                out["labelled"][task] = torch.zeros(len(image), dtype=torch.bool, device=self.device)
                continue
            prob = torch.sigmoid(logits[task][:, 0].float() / self.temperature)
            out[f"mask_{task}"] = prob if self.soft else (prob >= self.thresholds.get(task, 0.5)).float()
            out["labelled"][task] = torch.ones(len(image), dtype=torch.bool, device=self.device)
        return out

    def stream(self, batches: Iterable[dict]) -> Iterator[dict]:
        for batch in batches:
            yield self(batch)


def pseudo_label_loaders(config: DistillConfig, teacher: ModelBundle):
    """A :data:`~geovision.train.run.LoaderFactory` of teacher-labelled unlabelled chips (+ labelled validation)."""

    def make(
        train_config: TrainConfig, *, start_step: int, cache_dir: Path, device: torch.device, context: DistContext
    ) -> tuple[Iterable, Iterable | None]:
        data, trainer = train_config.data, train_config.trainer
        reader = ChipReader(
            tasks=(), chip_px=data.chip_px, gsd_m=data.gsd_m, mean=data.normalization.mean, std=data.normalization.std
        )
        augment = Augment(flips=data.augment.flips, rot90=data.augment.rot90, scale=data.augment.scale)
        step_samples = global_batch_size(
            trainer.batch_size, accumulate=trainer.accumulate, world_size=context.world_size
        )
        scenes = [s for s, _ in unlabelled_scenes(config.distill.unlabelled, config.resolve)]
        stream = RandomWindows(
            scenes,
            reader,
            length=trainer.steps * step_samples,
            seed=trainer.seed,
            augment=augment,
            min_valid=data.min_valid,
        )
        loader = train_loader(
            stream,
            batch_size=trainer.batch_size,
            context=context,
            start_sample=start_step * step_samples,
            num_workers=data.workers,
        )
        labeller = PseudoLabeller(
            teacher,
            tasks=train_config.model.tasks,
            mean=data.normalization.mean,
            std=data.normalization.std,
            soft=config.distill.soft,
            temperature=config.distill.temperature,
            device=device,
            amp=trainer.amp,
        )
        val_loader = None
        if data.val:
            val_reader = ChipReader(
                tasks=train_config.model.tasks,
                chip_px=data.chip_px,
                gsd_m=data.gsd_m,
                mean=data.normalization.mean,
                std=data.normalization.std,
            )
            val_set = GridWindows(build_scenes(train_config, data.val, cache_dir=cache_dir), val_reader)
            val_loader = DataLoader(rank_share(val_set, context), batch_size=trainer.batch_size)
        return labeller.stream(epochs(loader)), val_loader

    return make


def phase_configs(config: DistillConfig) -> tuple[TrainConfig, TrainConfig]:
    """The pseudo-label run and the fine-tuning run (initialised from the first) as training configs."""
    raw = config.model_dump(mode="json", exclude={"distill"})
    out = config.out_dir
    pseudo = {
        **raw,
        "name": f"{config.name}-pseudo",
        "output_dir": str(out / "pseudo"),
        "optim": {**raw["optim"], "warmup_steps": config.distill.warmup_steps},
        "trainer": {
            **raw["trainer"],
            "steps": config.distill.steps,
            "val_every": min(raw["trainer"]["val_every"], config.distill.steps),
            "checkpoint_every": min(raw["trainer"]["checkpoint_every"], config.distill.steps),
        },
        "bundle": {**raw["bundle"], "select": "last"},
    }
    finetune = {
        **raw,
        "name": f"{config.name}-finetune",
        "output_dir": str(out / "finetune"),
        "init_from": str(out / "pseudo" / "model"),
    }
    extra = {"config_dir": config.config_dir}
    return (
        TrainConfig.model_validate(pseudo).model_copy(update=extra),
        TrainConfig.model_validate(finetune).model_copy(update=extra),
    )


@dataclass
class DistillResult:
    pseudo: TrainResult
    finetune: TrainResult | None

    @property
    def bundle(self) -> Path:
        return (self.finetune or self.pseudo).bundle


def distill(config: DistillConfig, *, resume: bool = False, overwrite: bool = False) -> DistillResult:
    """Train the student on the teacher's pseudo-labels, then (``distill.finetune``) on the labelled data."""
    teacher_path = Path(config.distill.teacher).expanduser()
    teacher = load_bundle(teacher_path, gsd_m=config.data.gsd_m, band_count=config.model.in_channels)
    pseudo_config, finetune_config = phase_configs(config)
    pseudo = train(pseudo_config, resume=resume, overwrite=overwrite, loaders=pseudo_label_loaders(config, teacher))
    finetune = train(finetune_config, resume=resume, overwrite=overwrite) if config.distill.finetune else None
    result = DistillResult(pseudo=pseudo, finetune=finetune)
    record_distillation(result.bundle, config, teacher)
    return result


def record_distillation(bundle: Path, config: DistillConfig, teacher: ModelBundle) -> None:
    """Add the teacher and the pseudo-labelled imagery to the student bundle's training data (model card)."""
    meta = read_meta(bundle)
    teacher_meta = teacher.meta
    sources = [
        DataSource(
            name=f"teacher: {teacher_meta.name} {teacher_meta.version}",
            licence=teacher_meta.licence,
            notes="made the pseudo-labels; trained on "
            + "; ".join(f"{d.name} ({d.licence})" for d in teacher_meta.training.data),
        )
    ]
    sources += [
        DataSource(
            name=source.name or source.image,
            licence=source.licence,
            notes="unlabelled imagery, labelled by the teacher (soft pseudo-labels)",
        )
        for source in config.distill.unlabelled
    ]
    known = {d.name for d in meta.training.data}
    data = meta.training.data + [d for d in sources if d.name not in known]
    write_meta(bundle, meta.model_copy(update={"training": meta.training.model_copy(update={"data": data})}))

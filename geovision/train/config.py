"""Training configuration: strict pydantic models (:mod:`geovision.config`) loaded from YAML.

Relative data paths are resolved against ``data_root``, itself relative to the config
file's folder; ``output_dir`` is relative to the current folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, ClassVar, Literal, TypeVar

from pydantic import BaseModel, Field, model_validator

from geovision.config import StrictModel, read_yaml, validate_config
from geovision.data.registry import resolve_registry
from geovision.data.scenes import BOUNDARY_TASK
from geovision.data.sensor import SensorAugment
from geovision.models.bundle import Normalization
from geovision.models.spec import ModelSpec


class _Source(StrictModel):
    name: str | None = None
    licence: str = "unknown"
    weight: float = Field(1.0, gt=0)


class GeoTiffSource(_Source):
    """A georeferenced image; labels per task are mask rasters on its grid or vector files."""

    kind: Literal["geotiff"]
    image: str
    labels: dict[str, str]
    bands: list[int] | None = None
    gsd_m: float | None = Field(None, gt=0)
    line_width_m: float = Field(5.0, ge=0)
    boundary_px: float = Field(0.0, ge=0)
    label_nodata: Literal["mask", "ignore"] = "mask"  # ignore: a mask raster's nodata value is background


class ImageSource(_Source):
    """A plain image (PNG/JPEG, no georeference) with same-size masks per task."""

    kind: Literal["image"]
    image: str
    masks: dict[str, str]
    gsd_m: float = Field(gt=0)
    bands: list[int] | None = None
    threshold: float = 127


class XbdSource(_Source):
    """An xBD/xView2 PNG with its label JSON."""

    kind: Literal["xbd"]
    image: str
    labels: str
    gsd_m: float = Field(gt=0)
    task: str = "buildings"
    exclude_subtypes: tuple[str, ...] = ()
    boundary_px: float = Field(0.0, ge=0)


class SyntheticSource(_Source):
    """Procedural scenes from geovision.synth (generated once into the run's cache)."""

    kind: Literal["synthetic"]
    count: int = Field(1, ge=1)
    width: int = Field(512, ge=32)
    height: int = Field(512, ge=32)
    gsd_m: float = Field(0.5, gt=0)
    seed: int = 0
    events: tuple[str, ...] = ("tornado",)
    dates: tuple[str, ...] = ("pre",)
    licence: str = "Apache-2.0 (generated)"


Source = Annotated[GeoTiffSource | ImageSource | XbdSource | SyntheticSource, Field(discriminator="kind")]


class AugmentConfig(StrictModel):
    flips: bool = True
    rot90: bool = True
    scale: tuple[float, float] = (0.8, 1.25)
    brightness: float = Field(0.1, ge=0)
    contrast: float = Field(0.1, ge=0)
    sensor: SensorAugment | None = None  # imitations of other sensors (geovision.data.sensor)


class DataConfig(StrictModel):
    chip_px: int = Field(256, ge=32)
    gsd_m: float = Field(0.5, gt=0)
    bands: tuple[str, ...] = ("red", "green", "blue")
    normalization: Normalization = Normalization(mean=(127.5,) * 3, std=(127.5,) * 3)
    train: list[Source]
    val: list[Source] = Field(default_factory=list)
    augment: AugmentConfig = AugmentConfig()
    min_valid: float = Field(0.25, ge=0, le=1)
    workers: int = Field(0, ge=0)
    pack: bool = False  # decode and rasterise every scene once into memory (geovision.data.pack)


class LossConfig(StrictModel):
    bce_weight: float = Field(1.0, ge=0)
    dice_weight: float = Field(1.0, ge=0)
    task_weights: dict[str, float] = Field(default_factory=dict)
    pos_weight: dict[str, float] = Field(default_factory=dict)


class OptimConfig(StrictModel):
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    encoder_lr_mult: float = Field(1.0, gt=0)
    warmup_steps: int = Field(100, ge=0)
    min_lr_ratio: float = Field(0.01, ge=0, le=1)
    grad_clip: float | None = Field(1.0, gt=0)
    base_batch_size: int | None = Field(None, ge=1)  # lr is for this global batch; scaled by lr_scaling
    lr_scaling: Literal["linear", "sqrt", "none"] = "linear"


class TrainerConfig(StrictModel):
    steps: int = Field(1000, ge=1)
    batch_size: int = Field(8, ge=1)
    device: str = "auto"
    amp: Literal["auto", "bf16", "fp16", "off"] = "auto"
    channels_last: Literal["auto"] | bool = "auto"
    val_every: int = Field(250, ge=1)
    checkpoint_every: int = Field(250, ge=1)
    log_every: int = Field(20, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    seed: int = 0
    accumulate: int = Field(1, ge=1)  # micro-batches per optimiser step (global batch = batch x accumulate x ranks)
    freeze_batchnorm: bool = False  # BatchNorm in eval mode (running statistics) while training
    sync_batchnorm: bool = False  # SyncBatchNorm across DDP ranks (CUDA only)
    dist_backend: Literal["auto", "gloo", "nccl"] = "auto"  # auto: nccl on CUDA, gloo otherwise
    # a wall-clock limit on the training loop: stop after the step that passes it (bundle exported as usual)
    max_minutes: float | None = Field(None, gt=0)


class BundleConfig(StrictModel):
    name: str = "geovision-model"
    version: str = "0.1.0"
    licence: str = "Apache-2.0"
    thresholds: dict[str, float] = Field(default_factory=dict)
    held_out: list[str] = Field(default_factory=list)
    select: Literal["last", "best"] = "best"
    dtype: Literal["float32", "float16"] = "float32"


class RunFolderConfig(StrictModel):
    """What every training run has (``train`` and ``pretrain ...``): a name, its folder, where data
    paths start, the optimiser and the trainer. Outputs go to ``outputs/<KIND>/<name>`` by default."""

    KIND: ClassVar[str] = "train"  # the folder under outputs/ of runs of this kind

    name: str = "train"
    output_dir: str | None = None
    data_root: str = "."
    optim: OptimConfig = OptimConfig()
    trainer: TrainerConfig = TrainerConfig()
    config_dir: str | None = Field(None, exclude=True)

    def resolve(self, path: str) -> Path:
        """A data path: absolute, or relative to ``data_root`` (relative to the config file's folder)."""
        root = Path(self.config_dir or ".") / self.data_root
        candidate = Path(os.path.expanduser(path))
        return candidate if candidate.is_absolute() else root / candidate

    @property
    def out_dir(self) -> Path:
        return Path(self.output_dir or Path("outputs") / self.KIND / self.name)


class TrainConfig(RunFolderConfig):
    model: ModelSpec = ModelSpec()
    data: DataConfig
    loss: LossConfig = LossConfig()
    bundle: BundleConfig = BundleConfig()
    init_from: str | None = None  # encoder.safetensors from `geovision pretrain ssl`, or a bundle folder

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        tasks = set(self.model.tasks)
        n = self.model.in_channels
        if len(self.data.bands) != n or len(self.data.normalization.mean) != n:
            raise ValueError(
                f"data.bands ({len(self.data.bands)}) and data.normalization "
                f"({len(self.data.normalization.mean)}) must match model.in_channels ({n})"
            )
        for where, names in (
            ("loss.task_weights", self.loss.task_weights),
            ("loss.pos_weight", self.loss.pos_weight),
            ("bundle.thresholds", self.bundle.thresholds),
        ):
            unknown = sorted(set(names) - tasks)
            if unknown:
                raise ValueError(f"{where} names unknown tasks {unknown} (model tasks: {sorted(tasks)})")
        for source in self.data.train + self.data.val:
            unknown = sorted(set(source_tasks(source)) - tasks - {BOUNDARY_TASK})
            if unknown:
                raise ValueError(
                    f"source {source.name or getattr(source, 'image', source.kind)} labels tasks "
                    f"{unknown} the model does not have (model tasks: {sorted(tasks)})"
                )
        return self


def source_tasks(source: BaseModel) -> list[str]:
    """The tasks a source has labels for."""
    if isinstance(source, GeoTiffSource):
        return list(source.labels)
    if isinstance(source, ImageSource):
        return list(source.masks)
    if isinstance(source, XbdSource):
        return [source.task]
    return ["buildings", "roads"]


RunConfigT = TypeVar("RunConfigT", bound=RunFolderConfig)


def parse_config(
    raw: dict, *, path: str | os.PathLike[str] | None = None, model: type[RunConfigT] = TrainConfig
) -> RunConfigT:
    """Validate a mapping as a ``model`` (``ConfigError`` naming ``path`` on failure).

    ``{use: NAME}`` sources are expanded from the config's ``data_registry`` first; relative data
    paths start from the config file's folder.
    """
    if path is not None:
        raw = resolve_registry(raw, Path(path).resolve().parent)
    config = validate_config(raw, model, source=path)
    if path is not None:
        config = config.model_copy(update={"config_dir": str(Path(path).resolve().parent)})
    return config


def load_config(path: str | os.PathLike[str]) -> TrainConfig:
    """Read and validate a YAML training config (``yaml.safe_load``)."""
    return parse_config(read_yaml(path), path=path)

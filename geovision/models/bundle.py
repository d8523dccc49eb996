"""Model bundles: a folder with ``model.safetensors`` (weights) and ``model.json`` (metadata).

The JSON says everything needed to use the weights safely: architecture, tasks,
band order, normalisation, the ground sample distance trained at, decision
thresholds, training data with licences, and versions. Loading validates the
format tag first, refuses pickle-based files and never unpickles anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from torch import Tensor

from geovision import __version__
from geovision.config import validation_problems
from geovision.errors import ConfigError, ModelBundleError
from geovision.io.atomic import atomic_output
from geovision.io.validity import fill_invalid
from geovision.models.multitask import MultiTaskSegmenter, build_model
from geovision.models.spec import ModelSpec

log = logging.getLogger(__name__)

BUNDLE_FORMAT = "geovision-model/1"
WEIGHTS_NAME = "model.safetensors"
META_NAME = "model.json"
PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin", ".tar"}
GSD_TOLERANCE = 0.25  # relative GSD difference that triggers a warning


class Normalization(BaseModel):
    """Per-band ``(x - mean) / std`` in the input's own units (e.g. 0..255 for 8-bit imagery)."""

    model_config = ConfigDict(extra="forbid")
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @model_validator(mode="after")
    def _check(self) -> Normalization:
        if len(self.mean) != len(self.std):
            raise ValueError("normalization mean and std need one value per band")
        if any(s <= 0 for s in self.std):
            raise ValueError("normalization std must be > 0")
        return self

    def apply(self, image: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """``[bands, h, w]`` -> float32 ``(x - mean) / std``, 0 where invalid: the one normalisation of
        training chips and inference windows."""
        mean = np.asarray(self.mean, dtype=np.float32)[:, None, None]
        std = np.asarray(self.std, dtype=np.float32)[:, None, None]
        out = (image.astype(np.float32) - mean) / std
        fill_invalid(out, valid, 0.0)
        return out


class DataSource(BaseModel):
    """One training data set and its licence."""

    model_config = ConfigDict(extra="forbid")
    name: str
    licence: str
    url: str | None = None
    notes: str | None = None


class TrainingInfo(BaseModel):
    """How the weights were made."""

    model_config = ConfigDict(extra="forbid")
    data: list[DataSource] = Field(default_factory=list)
    held_out: list[str] = Field(default_factory=list)
    steps: int = 0  # in all, the steps of the base model (``base``) included
    wall_time_s: float = 0.0  # training time, summed over resumed parts (and the base model's)
    base: str | None = None  # the bundle these weights continue (``init_from``): "name version, N steps"
    config: dict[str, Any] | None = None
    metrics: dict[str, float] = Field(default_factory=dict)


class BundleMeta(BaseModel):
    """Contents of ``model.json``."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["geovision-model/1"] = BUNDLE_FORMAT
    name: str = "geovision-model"
    version: str = "0.0.0"
    geovision_version: str = __version__
    architecture: ModelSpec
    bands: tuple[str, ...]
    normalization: Normalization
    gsd_m: float = Field(gt=0)
    thresholds: dict[str, float]
    training: TrainingInfo = Field(default_factory=TrainingInfo)
    licence: str = "Apache-2.0"
    created: str | None = None
    weights_sha256: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> BundleMeta:
        n = self.architecture.in_channels
        if len(self.bands) != n or len(self.normalization.mean) != n:
            raise ValueError(
                f"bands ({len(self.bands)}) and normalization ({len(self.normalization.mean)}) "
                f"must match the model's {n} input channels"
            )
        if set(self.thresholds) != set(self.architecture.tasks):
            raise ValueError(
                f"thresholds {sorted(self.thresholds)} must name exactly the tasks {list(self.architecture.tasks)}"
            )
        return self


@dataclass
class ModelBundle:
    """A loaded bundle: the model (eval mode, CPU unless asked) and its metadata."""

    model: MultiTaskSegmenter
    meta: BundleMeta
    path: Path | None = None

    def normalize(self, image: Tensor) -> Tensor:
        """Scale a ``[..., C, H, W]`` image in input units with the bundle's statistics."""
        shape = (-1, 1, 1)
        mean = torch.tensor(self.meta.normalization.mean, dtype=image.dtype, device=image.device).view(shape)
        std = torch.tensor(self.meta.normalization.std, dtype=image.dtype, device=image.device).view(shape)
        return (image - mean) / std

    def check_input(self, *, gsd_m: float | None = None, band_count: int | None = None) -> list[str]:
        """Warn (and return the messages) when an input differs from what the model was trained on."""
        messages = []
        if band_count is not None and band_count != len(self.meta.bands):
            messages.append(
                f"input has {band_count} bands but model {self.meta.name} expects "
                f"{len(self.meta.bands)} ({', '.join(self.meta.bands)})"
            )
        if gsd_m is not None and abs(gsd_m - self.meta.gsd_m) > GSD_TOLERANCE * self.meta.gsd_m:
            messages.append(
                f"input GSD {gsd_m:.3g} m differs from the {self.meta.gsd_m:.3g} m model "
                f"{self.meta.name} was trained at; resample the input for best results"
            )
        for message in messages:
            warnings.warn(message, UserWarning, stacklevel=2)
        return messages


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_bundle(
    path: str | Path,
    model: MultiTaskSegmenter,
    meta: BundleMeta,
    *,
    overwrite: bool = False,
    dtype: Literal["float32", "float16"] = "float32",
) -> Path:
    """Write ``model`` and ``meta`` as a bundle folder at ``path`` (atomically); return ``path``."""
    from safetensors.torch import save_file

    if meta.architecture != model.spec:
        raise ModelBundleError(
            "the metadata's architecture differs from the model's spec",
            path=path,
            fix="build the BundleMeta with architecture=model.spec",
        )
    cast = torch.float16 if dtype == "float16" else torch.float32
    weights = {
        k: (v.to(cast) if v.is_floating_point() else v).detach().cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.mkdir(parents=True)
        save_file(weights, str(tmp / WEIGHTS_NAME), metadata={"format": BUNDLE_FORMAT})
        final = meta.model_copy(
            update={
                "created": meta.created or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "weights_sha256": _sha256(tmp / WEIGHTS_NAME),
            }
        )
        (tmp / META_NAME).write_text(_meta_text(final))
    return path


def _meta_text(meta: BundleMeta) -> str:
    return json.dumps(meta.model_dump(mode="json"), indent=2) + "\n"


def write_meta(path: str | Path, meta: BundleMeta) -> None:
    """Replace a bundle's ``model.json`` atomically (its weights and their hash are left as they are)."""
    with atomic_output(_bundle_dir(Path(path)) / META_NAME, overwrite=True) as tmp:
        tmp.write_text(_meta_text(meta))


def _bundle_dir(path: Path) -> Path:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ModelBundleError(
            "pickle-based model files are refused (they can run arbitrary code)",
            path=path,
            fix="convert the weights to a geovision bundle (model.safetensors + model.json)",
        )
    if path.is_file() and path.name in (META_NAME, WEIGHTS_NAME):
        return path.parent
    if not path.exists():
        raise ModelBundleError(
            "model bundle does not exist", path=path, fix="give a folder holding model.json and model.safetensors"
        )
    if not path.is_dir():
        raise ModelBundleError(
            "not a model bundle folder", path=path, fix="give a folder holding model.json and model.safetensors"
        )
    return path


def read_meta(path: str | Path) -> BundleMeta:
    """Read and validate a bundle's ``model.json`` (format tag checked before anything else)."""
    meta_path = _bundle_dir(Path(path)) / META_NAME
    try:
        raw = json.loads(meta_path.read_text())
    except FileNotFoundError as error:
        raise ModelBundleError(
            "model.json is missing", path=meta_path, fix="a bundle folder needs model.json and model.safetensors"
        ) from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ModelBundleError(
            f"model.json is not valid JSON: {error or 'nested too deeply'}", path=meta_path
        ) from error
    found = raw.get("format") if isinstance(raw, dict) else None
    if found != BUNDLE_FORMAT:
        raise ModelBundleError(
            f"unknown model bundle format {found!r}; this geovision reads {BUNDLE_FORMAT!r}",
            path=meta_path,
            fix="use a bundle written by geovision (or upgrade geovision)",
        )
    try:
        return BundleMeta.model_validate(raw)
    except ValidationError as error:
        raise ModelBundleError(
            f"invalid model metadata ({validation_problems(error)})",
            path=meta_path,
            fix="use a bundle written by geovision (or upgrade geovision)",
        ) from error


def load_bundle(
    path: str | Path, *, device: str | torch.device = "cpu", gsd_m: float | None = None, band_count: int | None = None
) -> ModelBundle:
    """Load a bundle folder; the model comes back in eval mode on ``device``.

    ``gsd_m`` / ``band_count`` describe the input about to be processed: a
    ``UserWarning`` is issued when they differ from the bundle's.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = _bundle_dir(Path(path))
    meta = read_meta(folder)
    weights_path = folder / WEIGHTS_NAME
    if not weights_path.is_file():
        raise ModelBundleError(
            "model.safetensors is missing",
            path=weights_path,
            fix="a bundle folder needs model.json and model.safetensors",
        )
    if meta.weights_sha256 and _sha256(weights_path) != meta.weights_sha256:
        raise ModelBundleError(
            "weights do not match the checksum in model.json (corrupt or replaced)",
            path=weights_path,
            fix="re-download or re-export the bundle",
        )
    try:
        weights = load_file(str(weights_path), device="cpu")
    except (SafetensorError, OSError) as error:
        raise ModelBundleError(f"cannot read weights: {error}", path=weights_path) from error
    try:
        model = build_model(meta.architecture, pretrained=False)
    except ConfigError as error:
        raise ModelBundleError(f"cannot build the bundle's architecture: {error.message}", path=folder) from error
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        raise ModelBundleError(
            f"weights do not fit the architecture in model.json: {str(error)[:300]}", path=weights_path
        ) from error
    bundle = ModelBundle(model=model.to(device).eval(), meta=meta, path=folder)
    bundle.check_input(gsd_m=gsd_m, band_count=band_count)
    return bundle

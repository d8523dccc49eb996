"""Sliding-window prediction of every date of a scene through one model, batch by batch.

Windows of ``chip_px`` overlap by ``overlap_px``; each window keeps only its
centre crop (the planner's crops tile the scene exactly once), so seams vanish
whenever the model's useful receptive field fits in ``overlap_px / 2``. All dates
of a window (pre and post) go through the model in the same batch, read once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from torch import nn

from geovision.inference.runtime import Runtime, build_runtime
from geovision.inference.sources import SceneSource
from geovision.io.validity import fill_invalid
from geovision.models.bundle import Normalization

PROB_NODATA = 255
PROB_SCALE = 254  # probability p is stored as round(p * 254); 255 is nodata
MASK_NODATA = 255


@dataclass(frozen=True)
class InferenceModel:
    """A model ready for inference: the network plus what it expects of its inputs."""

    module: nn.Module
    tasks: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    thresholds: dict[str, float]
    gsd_m: float | None = None  # ground sample distance the model was trained at
    band_names: tuple[str, ...] | None = None  # e.g. ("red", "green", "blue"); None: not recorded

    @property
    def bands(self) -> int:
        return len(self.mean)

    @property
    def input_bands(self) -> tuple[str, ...]:
        """The band names the model takes (``input 1``, ``input 2`` ... when the model does not record them)."""
        return self.band_names or tuple(f"input {i}" for i in range(1, self.bands + 1))


@dataclass(frozen=True)
class ModelRef:
    """A picklable recipe for a runtime: ``load()`` builds the model in whichever process needs it."""

    key: str
    load: Callable[[], InferenceModel]
    runtime: str = "auto"
    device: str = "auto"


@functools.lru_cache(maxsize=4)
def load_model(ref: ModelRef) -> InferenceModel:
    """``ref.load()``, once per process (the engine's checks and its runtime share it)."""
    return ref.load()


@functools.lru_cache(maxsize=4)
def _cached_runtime(ref: ModelRef, chip_px: int, bands: int) -> tuple[Runtime, InferenceModel]:
    model = load_model(ref)
    runtime = build_runtime(
        model.module, model.tasks, name=ref.runtime, device=ref.device, chip_px=chip_px, bands=bands
    )
    return runtime, model


def runtime_for(ref: ModelRef, *, chip_px: int, bands: int) -> tuple[Runtime, InferenceModel]:
    """The runtime for ``ref``, built once per process (each Dask worker loads the model once)."""
    return _cached_runtime(ref, chip_px, bands)


def quantise_probability(prob: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """float probabilities -> uint8 (p * 254, rounded), 255 where invalid."""
    out = np.rint(np.clip(prob, 0.0, 1.0) * PROB_SCALE).astype(np.uint8)
    fill_invalid(out, valid, PROB_NODATA)
    return out


def threshold_mask(prob: np.ndarray, valid: np.ndarray, threshold: float) -> np.ndarray:
    """float probabilities -> uint8 0/1 mask, 255 where invalid."""
    out = (prob >= threshold).astype(np.uint8)
    fill_invalid(out, valid, MASK_NODATA)
    return out


def normalise(image: np.ndarray, mean: Sequence[float], std: Sequence[float], valid: np.ndarray) -> np.ndarray:
    """Per-band ``(x - mean) / std``; invalid pixels become 0 (the mean). See :meth:`Normalization.apply`."""
    return Normalization(mean=tuple(mean), std=tuple(std)).apply(image, valid)


ChipProbs = dict[str, np.ndarray]  # task -> float32 probabilities over a whole chip
Sample = tuple[dict[str, np.ndarray], np.ndarray]  # a window's read: ({date: image}, valid)
WindowProbs = tuple[dict[str, dict[str, np.ndarray]], np.ndarray]  # ({date: {task: crop}}, valid crop)


def window_image(sample: Sample, date: str, model: InferenceModel) -> np.ndarray:
    """The normalised model input of one date of a window's read."""
    images, valid = sample
    return normalise(images[date], model.mean, model.std, valid)


def run_images(runtime: Runtime, images: Sequence[np.ndarray]) -> list[ChipProbs]:
    """Per-task probabilities of each normalised chip, in one model call."""
    if not images:
        return []
    probs = runtime(np.stack(images))
    return [{task: p[k] for task, p in probs.items()} for k in range(len(images))]


def cropped_probs(
    dates: Sequence[str],
    windows: Sequence,
    tasks: Sequence[str],
    samples: Sequence[Sample],
    chips: dict[tuple[int, str], ChipProbs],
) -> list[WindowProbs]:
    """Each window's crop of its chips' probabilities (``chips[(window, date)]``); 0 where a chip is missing."""
    out: list[WindowProbs] = []
    for i, window in enumerate(windows):
        crop = window.crop_in_chip
        valid = samples[i][1][crop.row_slice, crop.col_slice]
        by_date: dict[str, dict[str, np.ndarray]] = {}
        for date in dates:
            chip = chips.get((i, date))
            by_date[date] = {
                task: chip[task][crop.row_slice, crop.col_slice] if chip else np.zeros(valid.shape, np.float32)
                for task in tasks
            }
        out.append((by_date, valid))
    return out


def predict_window_probs(
    dates: Sequence[str],
    windows: Sequence,
    runtime: Runtime,
    model: InferenceModel,
    samples: Sequence[Sample],
) -> list[WindowProbs]:
    """Float probabilities of each window's crop: per window ``({date: {task: float32 [h, w]}}, valid [h, w])``.

    ``samples`` are the windows' reads (``source.read(window.read)``); every date of every window with a
    valid pixel goes through the model in one batch; windows without any get probability 0 everywhere.
    """
    keys = [(i, date) for i, (_, valid) in enumerate(samples) if valid.any() for date in dates]
    chips = dict(
        zip(keys, run_images(runtime, [window_image(samples[i], date, model) for i, date in keys]), strict=True)
    )
    return cropped_probs(dates, windows, model.tasks, samples, chips)


def stored_arrays(
    dates: Sequence[str], model: InferenceModel, window_probs: Sequence[WindowProbs]
) -> dict[str, np.ndarray]:
    """The uint8 outputs of a batch's windows, keyed ``w{i}_{task}_{date}_{prob|mask}`` and ``w{i}_valid``."""
    out: dict[str, np.ndarray] = {}
    for i, (probs, valid) in enumerate(window_probs):
        out[f"w{i}_valid"] = valid.astype(np.uint8)
        for date in dates:
            for task in model.tasks:
                prob = probs[date][task]
                out[f"w{i}_{task}_{date}_prob"] = quantise_probability(prob, valid)
                out[f"w{i}_{task}_{date}_mask"] = threshold_mask(prob, valid, model.thresholds.get(task, 0.5))
    return out


def predict_batch(
    source: SceneSource,
    windows: Sequence,
    runtime: Runtime,
    model: InferenceModel,
    samples: list[Sample] | None = None,
) -> dict[str, np.ndarray]:
    """Predict a batch of windows; returns the cropped uint8 outputs keyed ``w{i}_{task}_{date}_{prob|mask}``
    and ``w{i}_valid`` (i = index within the batch)."""
    if samples is None:
        samples = [source.read(window.read) for window in windows]
    return stored_arrays(source.dates, model, predict_window_probs(source.dates, windows, runtime, model, samples))


def load_bundle_for_inference(path: str) -> InferenceModel:
    """An :class:`InferenceModel` from a geovision model bundle folder (picklable via functools.partial)."""
    from geovision.models.bundle import load_bundle

    bundle = load_bundle(path)
    meta = bundle.meta
    return InferenceModel(
        module=bundle.model,
        tasks=tuple(meta.architecture.tasks),
        mean=tuple(meta.normalization.mean),
        std=tuple(meta.normalization.std),
        thresholds=dict(meta.thresholds),
        gsd_m=float(meta.gsd_m),
        band_names=tuple(meta.bands),
    )


def bundle_ref(path: str, *, runtime: str = "auto", device: str = "auto") -> ModelRef:
    """A :class:`ModelRef` for a bundle folder."""
    from geovision.models.registry import resolve_bundle

    folder = str(resolve_bundle(path))
    return ModelRef(
        key=f"bundle:{folder}",
        load=functools.partial(load_bundle_for_inference, folder),
        runtime=runtime,
        device=device,
    )

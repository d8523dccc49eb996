"""Segment in-memory arrays with a model bundle: ``Segmenter.from_bundle("default").predict(array)``.

The same path as ``geovision segment`` (:func:`geovision.inference.engine.segment_scene`), without files:
the array is stretched to the models' 8-bit units by the engine's default scaling (``to8bit``: uint8 as
it is, any other type stretched per band from its 2-98 % percentiles, estimated on the same decimated
sample a raster read takes), cut into the engine's overlapping windows (an array no larger than a chip
is one zero-padded window), normalised with the bundle's statistics and run through the same runtime;
each window keeps its centre crop. On the same pixels the probabilities equal the engine's before it
stores them as ``round(p * 254)``, and the masks equal its masks.

Arrays carry no georeference: the caller makes sure they are at the model's :attr:`Segmenter.gsd_m`
and hold its :attr:`Segmenter.input_bands` in that order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from affine import Affine

from geovision.errors import ConfigError
from geovision.inference.batches import SegmentOptions, batch_groups
from geovision.inference.predictor import (
    InferenceModel,
    ModelRef,
    bundle_ref,
    load_model,
    predict_window_probs,
    runtime_for,
    threshold_mask,
)
from geovision.inference.runtime import Runtime
from geovision.inference.sources import DEFAULT_SCALING
from geovision.io.raster import SAMPLE_PX
from geovision.io.scaling import Scaling, resolve_scaling, to_model_units
from geovision.io.validity import valid_pixels
from geovision.io.windows import clip_window, plan_windows
from geovision.models.bundle import BundleMeta, read_meta
from geovision.types import PixelWindow

DATE = "scene"  # the engine's date of a single image


class ArraySource:
    """A ``[bands, h, w]`` float32 array (already in model units, 0 where invalid) as a single-date
    :class:`~geovision.inference.sources.SceneSource`; reads past its edges are zeros and invalid."""

    dates = (DATE,)
    crs = None
    res_m = None
    path = "<array>"

    def __init__(self, image: np.ndarray, valid: np.ndarray):
        self.image, self.valid = image, valid
        self.bands, self.height, self.width = image.shape
        self.transform = Affine.identity()
        self.band_plans: dict = {DATE: None}

    def read(self, window: PixelWindow) -> tuple[dict[str, np.ndarray], np.ndarray]:
        window = PixelWindow(*window)
        data = np.zeros((self.bands, window.height, window.width), np.float32)
        valid = np.zeros((window.height, window.width), bool)
        clipped = clip_window(window, self.width, self.height)
        if clipped is not None:
            inner, (rows, cols) = clipped
            data[:, rows, cols] = self.image[:, inner.row_slice, inner.col_slice]
            valid[rows, cols] = self.valid[inner.row_slice, inner.col_slice]
        return {DATE: data}, valid


def decimated_sample(image: np.ndarray, valid: np.ndarray, max_px: int = SAMPLE_PX) -> tuple[np.ndarray, np.ndarray]:
    """The sample :meth:`geovision.io.raster.RasterSource.sample` reads of a raster holding ``image``:
    a nearest-neighbour decimation to at most ``max_px`` on the long side (GDAL's pixel centres)."""
    _, height, width = image.shape
    factor = max(1, math.ceil(max(width, height) / max_px))
    rows = _nearest(height, max(1, height // factor))
    cols = _nearest(width, max(1, width // factor))
    return image[:, rows][:, :, cols].astype(np.float32), valid[rows][:, cols]


def _nearest(size: int, out: int) -> np.ndarray:
    return ((np.arange(out) + 0.5) * (size / out)).astype(np.intp)


class Segmenter:
    """A model bundle ready to segment in-memory arrays (see the module docstring)."""

    def __init__(self, ref: ModelRef, meta: BundleMeta, *, options: SegmentOptions | None = None):
        options = options or SegmentOptions()
        options.check()
        self.ref = ref
        self.options = options.resolved(ref.device)
        self._meta = meta
        self.model: InferenceModel = load_model(ref)
        self.runtime: Runtime = runtime_for(ref, chip_px=self.options.chip_px, bands=self.model.bands)[0]

    @classmethod
    def from_bundle(
        cls,
        name_or_path: str | Path = "default",
        *,
        runtime: str = "auto",
        device: str = "auto",
        options: SegmentOptions | None = None,
    ) -> Segmenter:
        """Load a bundle: a shipped model's name (``default``, ``unet`` ...) or a bundle folder.

        ``runtime``/``device`` as in ``geovision segment`` (``auto``: bf16 where the hardware runs it);
        ``options``: the engine's chip size and overlap (default 512 / 64). Raises ModelBundleError
        when there is no valid bundle, ConfigError for impossible options.
        """
        from geovision.models.registry import resolve_bundle

        folder = resolve_bundle(name_or_path)
        return cls(bundle_ref(str(folder), runtime=runtime, device=device), read_meta(folder), options=options)

    # -- what the model is ---------------------------------------------------------
    @property
    def meta(self) -> BundleMeta:
        """The bundle's metadata (``model.json``)."""
        return self._meta

    @property
    def tasks(self) -> tuple[str, ...]:
        """The task names, the keys of :meth:`predict` (e.g. ``("buildings", "roads")``)."""
        return self.model.tasks

    @property
    def input_bands(self) -> tuple[str, ...]:
        """The bands the model takes, in the order the array's band axis must hold them."""
        return self.model.input_bands

    @property
    def gsd_m(self) -> float:
        """The ground sample distance (m) the model was trained at; give arrays at this resolution."""
        return float(self._meta.gsd_m)

    @property
    def thresholds(self) -> dict[str, float]:
        """The bundle's decision threshold of each task (used by :meth:`predict_masks`)."""
        return dict(self.model.thresholds)

    def __repr__(self) -> str:
        return (
            f"Segmenter({self._meta.name!r}, tasks={self.tasks}, bands={self.input_bands}, "
            f"runtime={self.runtime.name!r}, chip_px={self.options.chip_px})"
        )

    # -- prediction ----------------------------------------------------------------
    def predict(
        self,
        image: np.ndarray,
        *,
        valid: np.ndarray | None = None,
        scaling: str | Scaling | Mapping | None = None,
    ) -> dict[str, np.ndarray]:
        """Per-task probabilities ``{task: float32 [H, W]}`` in [0, 1]; NaN where a pixel is invalid.

        ``image``: ``[bands, H, W]`` of any size and integer or float type. Bands first when the first
        axis has the model's band count; otherwise ``[H, W, bands]`` when the last axis has it (a
        ``[3, H, 3]`` array of a 3-band model is bands first); any other shape is a ConfigError.
        ``valid``: bool ``[H, W]``, True where the pixel holds data (default: every finite pixel).
        ``scaling``: as ``geovision segment --scaling`` (default ``to8bit``; ``none`` for arrays that
        already hold 0..255 values).
        """
        probs, _ = self._predict(image, valid, scaling)
        return probs

    def predict_masks(
        self,
        image: np.ndarray,
        threshold: float | Mapping[str, float] | None = None,
        *,
        valid: np.ndarray | None = None,
        scaling: str | Scaling | Mapping | None = None,
    ) -> dict[str, np.ndarray]:
        """Per-task uint8 masks ``{task: [H, W]}``: 1 = the class, 0 = none, 255 = invalid (the engine's masks).

        ``threshold``: None for the bundle's thresholds, one value for every task, or one per task.
        Other arguments as in :meth:`predict`.
        """
        probs, valid_px = self._predict(image, valid, scaling)
        cuts = self._thresholds(threshold)
        return {task: threshold_mask(prob, valid_px, cuts[task]) for task, prob in probs.items()}

    def _thresholds(self, threshold: float | Mapping[str, float] | None) -> dict[str, float]:
        if threshold is None:
            return {task: self.model.thresholds.get(task, 0.5) for task in self.tasks}
        if isinstance(threshold, Mapping):
            unknown = sorted(set(threshold) - set(self.tasks))
            if unknown:
                raise ConfigError(f"thresholds for unknown task(s) {unknown}", fix=f"use the tasks {list(self.tasks)}")
            return {task: float(threshold.get(task, self.model.thresholds.get(task, 0.5))) for task in self.tasks}
        return dict.fromkeys(self.tasks, float(threshold))

    def _predict(
        self, image: np.ndarray, valid: np.ndarray | None, scaling: str | Scaling | Mapping | None
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        image = self._bands_first(image)
        valid_px = self._valid(image, valid)
        source = ArraySource(self._model_units(image, valid_px, scaling), valid_px)
        windows = plan_windows(
            source.width, source.height, chip_px=self.options.chip_px, overlap_px=self.options.overlap_px
        )
        out = {task: np.full((source.height, source.width), np.nan, np.float32) for task in self.tasks}
        for group in batch_groups(len(windows), self.options.batch_windows):
            batch = [windows[i] for i in group]
            samples = [source.read(window.read) for window in batch]
            results = predict_window_probs(source.dates, batch, self.runtime, self.model, samples)
            for window, (probs, crop_valid) in zip(batch, results, strict=True):
                rows, cols = window.crop.row_slice, window.crop.col_slice
                for task in self.tasks:
                    out[task][rows, cols] = np.where(crop_valid, probs[DATE][task], np.nan)
        return out, valid_px

    def _bands_first(self, image: np.ndarray) -> np.ndarray:
        image = np.asarray(image)
        bands = self.model.bands
        if image.dtype.kind not in "uif":
            raise ConfigError(
                f"image of type {image.dtype} is not an array of intensities", fix="give integer or float pixels"
            )
        if image.ndim == 3 and image.shape[0] == bands:
            return image
        if image.ndim == 3 and image.shape[-1] == bands:
            return np.moveaxis(image, -1, 0)
        raise ConfigError(
            f"image of shape {image.shape} is not [bands, H, W] (or [H, W, bands]) with the model's {bands} bands",
            fix=f"give the bands {', '.join(self.input_bands)} along the first axis",
        )

    @staticmethod
    def _valid(image: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
        shape = image.shape[1:]
        if valid is None:
            valid_px = np.ones(shape, bool)
        else:
            valid_px = np.asarray(valid)
            if valid_px.shape != shape:
                raise ConfigError(
                    f"valid mask of shape {valid_px.shape} does not match the image's {shape}",
                    fix="give a bool [H, W] array, True where the pixel holds data",
                )
            valid_px = valid_px.astype(bool)
        return valid_px & valid_pixels(image)  # the raster readers' rule: NaN/inf are no data

    @staticmethod
    def _model_units(image: np.ndarray, valid: np.ndarray, scaling: str | Scaling | Mapping | None) -> np.ndarray:
        """``image`` as float32 in the models' units (the raster reader's scaling), 0 where invalid."""
        stretch = resolve_scaling(
            to_model_units(scaling or DEFAULT_SCALING),
            dtype=image.dtype.name,
            count=image.shape[0],
            sample=lambda: decimated_sample(image, valid),
        )
        data = image.astype(np.float32)  # a copy: the caller's array is never changed
        if stretch is not None:
            with np.errstate(invalid="ignore"):
                stretch.apply(data)
        data[:, ~valid] = 0.0
        return data

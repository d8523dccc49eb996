"""Torch datasets of chips: random windows for training, a fixed grid for validation.

Each sample is a dict: ``image`` (float32 ``[C, chip, chip]``, normalised, 0 where invalid),
``valid`` (bool ``[chip, chip]``), ``mask_<task>`` (float32 0/1 ``[chip, chip]``, zeros when
unlabelled) for every model task, ``labelled`` (``{task: bool tensor}``) and ``scene`` (name).
Windows are read at the scene's resolution and resampled to the model's GSD, so sources of
different resolutions train one model. Random samples depend only on ``(seed, index)``, which
makes training resumable and shardable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from geovision.data.augment import Augment
from geovision.data.images import read_scale
from geovision.data.scenes import Scene
from geovision.data.sensor import SensorAugment
from geovision.errors import BandCountError, ConfigError
from geovision.io.windows import plan_windows
from geovision.models.bundle import Normalization
from geovision.types import PixelWindow


def _resample(array: np.ndarray, out_px: int, *, threshold: float | None) -> torch.Tensor:
    """Bilinear (antialiased) resize of ``[C, h, w]`` to ``[C, out_px, out_px]``; thresholded if asked."""
    tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    if tensor.shape[-1] != out_px or tensor.shape[-2] != out_px:
        tensor = F.interpolate(
            tensor[None], size=(out_px, out_px), mode="bilinear", align_corners=False, antialias=True
        )[0]
    return tensor if threshold is None else tensor >= threshold


class ChipReader:
    """Reads a scene window as a model-ready sample (resampled to ``chip_px``, normalised)."""

    def __init__(
        self, *, tasks: Sequence[str], chip_px: int, gsd_m: float, mean: Sequence[float], std: Sequence[float]
    ):
        if len(mean) != len(std):
            raise ConfigError("normalization mean and std need one value per band")
        self.tasks = tuple(tasks)
        self.chip_px = chip_px
        self.gsd_m = gsd_m
        self.normalization = Normalization(mean=tuple(mean), std=tuple(std))

    def check(self, scenes: Sequence[Scene]) -> None:
        """Raise unless every scene has the configured band count."""
        for scene in scenes:
            if scene.image.count != len(self.normalization.mean):
                raise BandCountError(
                    f"scene {scene.name} has {scene.image.count} bands, the config {len(self.normalization.mean)}",
                    fix="select bands per source (bands: [1, 2, 3]) or change the normalization",
                )

    def read_px(self, scene: Scene, scale: float = 1.0) -> int:
        """Side in scene pixels of the window that covers one chip."""
        return max(1, round(self.chip_px * read_scale(self.gsd_m, scene.gsd_m, scale)))

    def read_raw(self, scene: Scene, window: PixelWindow) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """A window resampled to the chip: ``(image [C, chip, chip] raw units, valid bool, {task: 0/1 mask})``."""
        image, valid, masks = scene.read(window)
        valid_t = _resample(valid[None], self.chip_px, threshold=0.999)[0]
        image_t = _resample(image, self.chip_px, threshold=None) * valid_t
        masks_t = {
            task: _resample(masks[task][None], self.chip_px, threshold=0.5)[0] for task in self.tasks if task in masks
        }
        return image_t, valid_t, masks_t

    def sample(self, scene: Scene, image: torch.Tensor, valid: torch.Tensor, masks: dict[str, torch.Tensor]) -> dict:
        """The model-ready sample dict: the image normalised exactly as the inference engine does."""
        normalised = torch.from_numpy(self.normalization.apply(image.numpy(), valid.numpy().astype(bool)))
        sample: dict = {"image": normalised, "valid": valid, "scene": scene.name, "labelled": {}}
        for task in self.tasks:
            labelled = task in masks
            mask = masks[task] if labelled else torch.zeros(self.chip_px, self.chip_px, dtype=torch.bool)
            sample[f"mask_{task}"] = mask.float()
            sample["labelled"][task] = torch.tensor(labelled)
        return sample

    def __call__(self, scene: Scene, window: PixelWindow) -> dict:
        return self.sample(scene, *self.read_raw(scene, window))


class RandomWindows(Dataset):
    """``length`` random chips; scene chosen by weight, window uniform, optional zoom and augmentation.

    A window whose valid fraction is below ``min_valid`` is redrawn (up to ``tries`` times).
    """

    def __init__(
        self,
        scenes: Sequence[Scene],
        reader: ChipReader,
        *,
        length: int,
        seed: int = 0,
        augment: Augment | None = None,
        min_valid: float = 0.25,
        tries: int = 5,
        sensor: SensorAugment | None = None,
    ):
        if not scenes:
            raise ConfigError("no training scenes", fix="list at least one source under data.train")
        reader.check(scenes)
        self.scenes = list(scenes)
        self.reader = reader
        self.length = length
        self.seed = seed
        self.augment = augment
        self.min_valid = min_valid
        self.tries = tries
        self.sensor = sensor if sensor is not None and sensor.active else None
        weights = np.array([s.weight for s in self.scenes], dtype=float)
        self.probs = weights / weights.sum()

    def __len__(self) -> int:
        return self.length

    def _window(self, scene: Scene, rng: np.random.Generator) -> PixelWindow:
        scale = self.augment.scale_factor(rng) if self.augment else 1.0
        size = self.reader.read_px(scene, scale)
        col = int(rng.integers(min(0, scene.width - size), max(0, scene.width - size) + 1))
        row = int(rng.integers(min(0, scene.height - size), max(0, scene.height - size) + 1))
        return PixelWindow(col, row, size, size)

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng((self.seed, index))
        scene = self.scenes[int(rng.choice(len(self.scenes), p=self.probs))]
        for _ in range(self.tries):
            image, valid, masks = self.reader.read_raw(scene, self._window(scene, rng))
            if float(valid.float().mean()) >= self.min_valid:
                break
        if self.sensor is not None:
            image, valid, masks = self.sensor(image, valid, masks, rng)
        sample = self.reader.sample(scene, image, valid, masks)
        return self.augment(sample, rng) if self.augment else sample


class GridWindows(Dataset):
    """Every scene cut into non-overlapping chips (deterministic; for validation)."""

    def __init__(self, scenes: Sequence[Scene], reader: ChipReader):
        reader.check(scenes)
        self.scenes = list(scenes)
        self.reader = reader
        self.windows: list[tuple[int, PixelWindow]] = []
        for index, scene in enumerate(self.scenes):
            size = reader.read_px(scene)
            for chip in plan_windows(scene.width, scene.height, chip_px=size):
                self.windows.append((index, chip.read))

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict:
        scene_index, window = self.windows[index]
        return self.reader(self.scenes[scene_index], window)

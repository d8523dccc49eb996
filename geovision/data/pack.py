"""Scenes held in memory as uint8 arrays: decoded and rasterised once, sliced per training chip.

Training draws thousands of random windows; reading each from a PNG/JPEG decodes the whole
file and rasterises its vectors again. :func:`pack_scenes` reads every scene once into an
:class:`ArrayScene` (image, valid mask and one 0/1 mask per task, all ``uint8``) that serves the
same boundless ``read(window)`` as :class:`~geovision.data.scenes.Scene`. ``save``/``load`` keep a
pack on disk as plain ``.npz`` arrays (never pickles), e.g. to ship chips to a GPU machine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geovision.data.scenes import Scene
from geovision.errors import ConfigError
from geovision.io.windows import clip_window
from geovision.types import PixelWindow


@dataclass
class ArrayScene:
    """An in-memory scene: ``image`` ``[C, H, W]`` (uint8, or float32 for other bit depths), masks ``[H, W]``."""

    name: str
    image_data: np.ndarray
    valid_data: np.ndarray
    mask_data: dict[str, np.ndarray]
    gsd_m: float
    weight: float = 1.0
    meta: dict = field(default_factory=dict)

    @property
    def width(self) -> int:
        return int(self.image_data.shape[2])

    @property
    def height(self) -> int:
        return int(self.image_data.shape[1])

    @property
    def count(self) -> int:
        return int(self.image_data.shape[0])

    @property
    def image(self) -> ArrayScene:  # ChipReader.check reads ``scene.image.count``
        return self

    @property
    def targets(self) -> dict[str, np.ndarray]:
        return self.mask_data

    def read(self, window: PixelWindow) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """``(image float32 [C, h, w], valid bool [h, w], {task: uint8 [h, w]})``; outside reads as invalid."""
        image = np.zeros((self.count, window.height, window.width), np.float32)
        valid = np.zeros((window.height, window.width), bool)
        masks = {task: np.zeros((window.height, window.width), np.uint8) for task in self.mask_data}
        clipped = clip_window(window, self.width, self.height)
        if clipped is None:
            return image, valid, masks
        inner, (rows, cols) = clipped
        src = (slice(inner.row_off, inner.row_off + inner.height), slice(inner.col_off, inner.col_off + inner.width))
        image[:, rows, cols] = self.image_data[(slice(None), *src)]
        valid[rows, cols] = self.valid_data[src]
        for task, data in self.mask_data.items():
            masks[task][rows, cols] = data[src]
        return image, valid, masks


def pack_scene(scene: Scene) -> ArrayScene:
    """Read a whole scene once (image, valid, every label layer) into memory."""
    image, valid, masks = scene.read(PixelWindow(0, 0, scene.width, scene.height))
    if np.all((image >= 0) & (image <= 255) & (image == np.round(image))):
        image = image.astype(np.uint8)
    return ArrayScene(
        scene.name,
        image,
        valid,
        {t: m.astype(np.uint8) for t, m in masks.items()},
        scene.gsd_m,
        scene.weight,
        dict(scene.meta),
    )


def pack_scenes(scenes: Sequence[Scene]) -> list[ArrayScene]:
    return [pack_scene(scene) for scene in scenes]


def save_pack(folder: str | os.PathLike[str], scenes: Sequence[ArrayScene]) -> Path:
    """One ``.npz`` per scene plus ``pack.json`` (names, GSDs, weights, tasks) in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    index = []
    for number, scene in enumerate(scenes):
        file = f"scene_{number:04d}.npz"
        arrays = {
            "image": scene.image_data,
            "valid": scene.valid_data,
            **{f"mask_{task}": data for task, data in scene.mask_data.items()},
        }
        tmp = folder / f".{file}.tmp.npz"
        np.savez_compressed(tmp, **arrays)
        tmp.replace(folder / file)
        index.append(
            {
                "file": file,
                "name": scene.name,
                "gsd_m": scene.gsd_m,
                "weight": scene.weight,
                "tasks": sorted(scene.mask_data),
            }
        )
    (folder / "pack.json").write_text(json.dumps({"format": "geovision-pack/1", "scenes": index}, indent=1))
    return folder


def load_pack(folder: str | os.PathLike[str]) -> list[ArrayScene]:
    """The scenes of a pack written by :func:`save_pack` (``allow_pickle=False``)."""
    folder = Path(folder)
    index_path = folder / "pack.json"
    if not index_path.is_file():
        raise ConfigError("not a chip pack (no pack.json)", path=folder, fix="write one with save_pack")
    index = json.loads(index_path.read_text())
    scenes = []
    for item in index["scenes"]:
        with np.load(folder / item["file"], allow_pickle=False) as arrays:
            masks = {task: arrays[f"mask_{task}"] for task in item["tasks"]}
            scenes.append(
                ArrayScene(
                    item["name"], arrays["image"], arrays["valid"], masks, float(item["gsd_m"]), float(item["weight"])
                )
            )
    return scenes

"""Scene sources for inference: one raster, or an aligned pre/post pair, read window by window.

A source is built in each process from a picklable :class:`SourceSpec`, so the
same spec drives the single-process run and every Dask worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from affine import Affine

from geovision.types import PixelWindow


class SceneSource(Protocol):
    """A georeferenced scene with one or more dates on one grid."""

    dates: tuple[str, ...]
    width: int
    height: int
    transform: Affine
    crs: object
    bands: int

    def read(self, window: PixelWindow) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """``({date: float32 [C, h, w]}, valid bool [h, w])``; pixels outside the scene are invalid."""
        ...


@dataclass(frozen=True)
class SourceSpec:
    """How to open a scene: ``post`` None means a single image (date ``scene``)."""

    pre: str
    post: str | None = None
    res_m: float | None = None
    bands: tuple[int, ...] | None = None
    scaling: str | None = None

    def open(self) -> SceneSource:
        if self.post is None:
            return SingleSource(self)
        return PairSource(self)


class SingleSource:
    """One raster as a scene with the single date ``scene``."""

    dates = ("scene",)

    def __init__(self, spec: SourceSpec):
        from geovision.io.raster import open_raster

        self.raster = open_raster(spec.pre, bands=list(spec.bands) if spec.bands else None, scaling=spec.scaling)
        self.width, self.height = self.raster.width, self.raster.height
        self.transform, self.crs = self.raster.transform, self.raster.crs
        self.bands = len(spec.bands) if spec.bands else self.raster.count

    def read(self, window: PixelWindow) -> tuple[dict[str, np.ndarray], np.ndarray]:
        image, valid = self.raster.read(window, boundless=True)
        return {"scene": image}, valid


class PairSource:
    """A pre/post pair aligned on one reference grid (dates ``pre`` and ``post``)."""

    dates = ("pre", "post")

    def __init__(self, spec: SourceSpec):
        from geovision.io.align import align_pair

        self.pair = align_pair(spec.pre, spec.post, res_m=spec.res_m,
                               bands=list(spec.bands) if spec.bands else None, scaling=spec.scaling)
        self.width, self.height = self.pair.width, self.pair.height
        self.transform, self.crs = self.pair.transform, self.pair.crs
        self.bands = self.pair.count

    def read(self, window: PixelWindow) -> tuple[dict[str, np.ndarray], np.ndarray]:
        sample = self.pair.read(window)
        return {"pre": sample["image_pre"], "post": sample["image_post"]}, sample["valid"]

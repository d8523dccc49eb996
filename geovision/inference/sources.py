"""Scene sources for inference: one raster, or an aligned pre/post pair, read window by window.

A source is built in each process from a picklable :class:`SourceSpec`, so the
same spec drives the single-process run and every Dask worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from affine import Affine

from geovision.types import PixelWindow

if TYPE_CHECKING:
    from geovision.io.bands import BandPlan
    from geovision.io.scaling import Scaling


class SceneSource(Protocol):
    """A georeferenced scene with one or more dates on one grid."""

    dates: tuple[str, ...]
    width: int
    height: int
    transform: Affine
    crs: object
    bands: int
    res_m: float | None
    path: str
    band_plans: dict[str, BandPlan | None]  # per date: which file bands feed the model, and why

    def read(self, window: PixelWindow) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """``({date: float32 [C, h, w]}, valid bool [h, w])``; pixels outside the scene are invalid."""
        ...


DEFAULT_SCALING = "to8bit"


@dataclass(frozen=True)
class SourceSpec:
    """How to open a scene: ``post`` None means a single image (date ``scene``).

    ``aoi``: a polygon vector file; the scene becomes the AOI's bounding box and pixels
    outside its polygons are invalid. ``scaling`` (a :mod:`geovision.io.scaling` method name or
    :class:`~geovision.io.scaling.Scaling`; default ``to8bit``): models take 8-bit units, so other
    bit depths are stretched to 0..255. ``model_bands`` (the model's band names; the engine fills
    them in): each image's bands are chosen from its metadata (:mod:`geovision.io.bands`) unless
    ``bands`` is given; None keeps every non-alpha band.
    """

    pre: str
    post: str | None = None
    res_m: float | None = None
    bands: tuple[int, ...] | None = None
    scaling: str | Scaling | None = None
    aoi: str | None = None
    model_bands: tuple[str, ...] | None = None

    @property
    def input_scaling(self) -> Scaling:
        """The given scaling (else the default) with its stretches ending in the model's 0..255 units."""
        from geovision.io.scaling import to_model_units

        return to_model_units(self.scaling or DEFAULT_SCALING)

    def open(self) -> SceneSource:
        if self.post is None:
            return SingleSource(self)
        return PairSource(self)


class SingleSource:
    """One raster as a scene with the single date ``scene`` (clipped to the AOI's pixels when given)."""

    dates = ("scene",)

    def __init__(self, spec: SourceSpec):
        from geovision.io.raster import open_raster

        self.raster = open_raster(
            spec.pre,
            bands=list(spec.bands) if spec.bands else None,
            scaling=spec.input_scaling,
            model_bands=spec.model_bands,
        )
        self.bands = self.raster.count
        self.band_plans = {"scene": self.raster.band_plan}
        self.offset, self.aoi = (0, 0), None
        self.width, self.height = self.raster.width, self.raster.height
        if spec.aoi is not None:
            self._clip_to(spec.aoi)
        self.transform = self.raster.transform @ Affine.translation(*self.offset)
        self.crs = self.raster.crs
        self.path = self.raster.path

    @property
    def res_m(self) -> float | None:
        """Pixel size in metres (None in a geographic CRS, where this source does not resample)."""
        from geovision.io.crs import is_metric

        return abs(self.transform.a) if is_metric(self.crs) else None

    def _clip_to(self, path: str) -> None:
        from geovision.errors import NoOverlapError
        from geovision.io.aoi import aoi_window, resolve_aoi

        aoi = resolve_aoi(path)
        self.aoi = aoi.in_crs(self.raster.crs)
        window = aoi_window(self.aoi, self.raster.transform, self.raster.width, self.raster.height)
        if window is None:
            self.raster.close()
            raise NoOverlapError(
                "AOI does not overlap the image",
                path=aoi.label,
                fix=f"draw the AOI inside {self.raster.path}, and check the AOI file's CRS",
            )
        col, row, self.width, self.height = window
        self.offset = (col, row)

    def read(self, window: PixelWindow) -> tuple[dict[str, np.ndarray], np.ndarray]:
        window = PixelWindow(*window)
        if self.aoi is None:
            image, valid = self.raster.read(window, boundless=True)
            return {"scene": image}, valid
        from geovision.io.aoi import aoi_mask

        inside = aoi_mask(
            self.aoi, self.transform @ Affine.translation(window.col_off, window.row_off), window.height, window.width
        )
        inside[max(self.height - window.row_off, 0) :, :] = False  # past the clipped scene
        inside[:, max(self.width - window.col_off, 0) :] = False
        inside[: max(-window.row_off, 0), :] = False
        inside[:, : max(-window.col_off, 0)] = False
        shifted = PixelWindow(
            window.col_off + self.offset[0], window.row_off + self.offset[1], window.width, window.height
        )
        image, valid = self.raster.read(shifted, boundless=True)
        valid &= inside
        image[:, ~valid] = 0.0
        return {"scene": image}, valid


class PairSource:
    """A pre/post pair aligned on one reference grid (dates ``pre`` and ``post``)."""

    dates = ("pre", "post")

    def __init__(self, spec: SourceSpec):
        from geovision.io.align import align_pair

        self.pair = align_pair(
            spec.pre,
            spec.post,
            res_m=spec.res_m,
            bands=list(spec.bands) if spec.bands else None,
            scaling=spec.input_scaling,
            aoi=spec.aoi,
            model_bands=spec.model_bands,
        )
        self.band_plans = {"pre": self.pair.pre.band_plan, "post": self.pair.post.band_plan}
        self.width, self.height = self.pair.width, self.pair.height
        self.transform, self.crs = self.pair.transform, self.pair.crs
        self.bands = self.pair.count
        self.res_m: float | None = self.pair.res_m
        self.path = self.pair.pre.path

    def read(self, window: PixelWindow) -> tuple[dict[str, np.ndarray], np.ndarray]:
        sample = self.pair.read(window)
        return {"pre": sample["image_pre"], "post": sample["image_post"]}, sample["valid"]

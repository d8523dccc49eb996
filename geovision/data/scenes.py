"""Training scenes: one image plus a label layer per task it is labelled for.

Builders for the supported sources: GeoTIFF + vector or mask labels, plain images +
mask PNGs (DeepGlobe style), xBD PNG + JSON, and synthetic scenes from
:mod:`geovision.synth`. Every label ends up on the image's pixel grid.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geovision.data.images import ImageReader, PlainImage, gsd_m_of, open_geotiff
from geovision.data.targets import RASTER_SUFFIXES, RasterTarget, VectorTarget, to_pixel_frame
from geovision.errors import ConfigError, MissingFileError
from geovision.types import PixelWindow

BOUNDARY_TASK = "boundaries"


@dataclass
class Scene:
    """An image, its ground sample distance and its label layers (task -> target)."""

    name: str
    image: ImageReader
    targets: dict[str, object]
    gsd_m: float
    weight: float = 1.0
    meta: dict = field(default_factory=dict)

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height

    def read(self, window: PixelWindow) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """``(image float32 [C, h, w] raw, valid [h, w], {task: mask uint8 [h, w]})``.

        ``valid`` is the image's valid mask and-ed with every label's known area.
        """
        image, valid = self.image.read(window)
        masks = {}
        for task, target in self.targets.items():
            mask, known = target.read(window)
            masks[task] = mask
            valid &= known
        return image, valid, masks


def _check_path(path: str | os.PathLike[str], what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"{what} does not exist", path=path, fix="check the path in the training config")
    return path


def geotiff_scene(
    image: str | os.PathLike[str],
    labels: Mapping[str, str | os.PathLike[str]],
    *,
    bands: list[int] | None = None,
    gsd_m: float | None = None,
    line_width_m: float = 4.0,
    boundary_px: float = 0.0,
    label_nodata: str = "mask",
    name: str | None = None,
    weight: float = 1.0,
) -> Scene:
    """A georeferenced image with per-task labels: mask rasters on its grid, or vector files in any CRS.

    Lines (roads) are buffered to ``line_width_m``; ``boundary_px > 0`` adds a
    ``boundaries`` task from the building polygons' outlines. ``label_nodata="ignore"``
    reads a mask raster's nodata value as background (masks that declare their 0 as nodata).
    """
    from geovision.io.vectors import read_vectors

    source = open_geotiff(_check_path(image, "image"), bands=bands)
    gsd = gsd_m or gsd_m_of(source)
    targets: dict[str, object] = {}
    for task, label in labels.items():
        label = _check_path(label, f"label file for task {task!r}")
        if label.suffix.lower() in RASTER_SUFFIXES:
            targets[task] = RasterTarget(
                label,
                width=source.width,
                height=source.height,
                transform=source.transform,
                use_mask=label_nodata == "mask",
            )
            continue
        frame = to_pixel_frame(read_vectors(label), transform=source.transform, crs=source.crs)
        targets[task] = VectorTarget(frame, width=source.width, height=source.height, line_width_px=line_width_m / gsd)
        if boundary_px > 0 and task == "buildings":
            targets[BOUNDARY_TASK] = VectorTarget(
                frame, width=source.width, height=source.height, boundary_px=boundary_px
            )
    return Scene(name or Path(image).stem, source, targets, gsd, weight)


def image_scene(
    image: str | os.PathLike[str],
    masks: Mapping[str, str | os.PathLike[str]],
    *,
    gsd_m: float,
    bands: list[int] | None = None,
    threshold: float = 127,
    name: str | None = None,
    weight: float = 1.0,
) -> Scene:
    """A plain image (PNG/JPEG, no georeference) with same-size mask images per task (0/255 style)."""
    reader = PlainImage(_check_path(image, "image"), bands=bands)
    targets = {
        task: RasterTarget(
            _check_path(path, f"mask for task {task!r}"), width=reader.width, height=reader.height, threshold=threshold
        )
        for task, path in masks.items()
    }
    return Scene(name or Path(image).stem, reader, targets, gsd_m, weight)


def xbd_scene(
    image: str | os.PathLike[str],
    label_json: str | os.PathLike[str],
    *,
    gsd_m: float,
    task: str = "buildings",
    exclude_subtypes: tuple[str, ...] = (),
    boundary_px: float = 0.0,
    name: str | None = None,
    weight: float = 1.0,
) -> Scene:
    """An xBD/xView2 PNG with its label JSON (pixel polygons) as the ``task`` target.

    ``exclude_subtypes`` drops damage classes (e.g. ``destroyed`` on a post-event image,
    so only standing buildings are positive).
    """
    from geovision.io.labels import read_xbd_json

    reader = PlainImage(_check_path(image, "image"))
    frame = read_xbd_json(_check_path(label_json, "xBD label file"))
    keep = (frame["feature_type"].fillna("building") == "building") & ~frame["subtype"].isin(exclude_subtypes)
    frame = frame[keep]
    targets: dict[str, object] = {task: VectorTarget(frame, width=reader.width, height=reader.height)}
    if boundary_px > 0:
        targets[BOUNDARY_TASK] = VectorTarget(frame, width=reader.width, height=reader.height, boundary_px=boundary_px)
    return Scene(name or Path(image).stem, reader, targets, gsd_m, weight)


def synthetic_scenes(
    out_dir: str | os.PathLike[str],
    *,
    count: int,
    width: int,
    height: int,
    gsd_m: float = 0.5,
    seed: int = 0,
    events: tuple[str, ...] = ("tornado",),
    dates: tuple[str, ...] = ("pre",),
    weight: float = 1.0,
) -> list[Scene]:
    """Generate (once, cached in ``out_dir``) ``count`` synthetic events and return their scenes.

    Each event folder holds ``<date>.tif`` with ``buildings_<date>.tif`` and ``roads_<date>.tif``.
    """
    from geovision.synth import generate_event

    scenes = []
    for index in range(count):
        event = events[index % len(events)]
        folder = Path(out_dir) / f"{event}_{seed + index:04d}_{width}x{height}"
        if not (folder / f"{dates[-1]}.tif").is_file():
            generate_event(folder, width=width, height=height, gsd_m=gsd_m, seed=seed + index, event=event)
        for date in dates:
            labels = {
                task: folder / f"{task}_{date}.tif"
                for task in ("buildings", "roads")
                if (folder / f"{task}_{date}.tif").is_file()
            }
            if not labels:
                raise ConfigError(
                    f"synthetic scene has no label rasters for date {date!r}",
                    path=folder,
                    fix="use dates that geovision synth writes (pre, post)",
                )
            scenes.append(
                geotiff_scene(folder / f"{date}.tif", labels, gsd_m=gsd_m, name=f"{folder.name}_{date}", weight=weight)
            )
    return scenes

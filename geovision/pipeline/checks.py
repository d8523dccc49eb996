"""Every input and option of a run, checked before the first stage runs (nothing is written on failure).

One place for what would otherwise fail late (after an hour of segmentation) or, worse, not at
all: missing or unreadable files, images with no valid pixel, a census without its population
column or with no units, a ``--model`` that is not a bundle, and numeric options that are not
finite or out of range.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

from geovision.errors import ConfigError, CorruptFileError, GeovisionError, ModelBundleError
from geovision.io.paths import check_input_file, is_remote
from geovision.io.validity import LOW_VALID_SHARE, valid_share
from geovision.pipeline.events import EventInputs

log = logging.getLogger(__name__)

MIN_SCENE_PX = 32  # the smallest grid side segmentation is run on (a model needs context around each pixel)


@dataclass(frozen=True)
class Range:
    """A numeric option's allowed values: ``low`` < / <= value <= ``high``, always finite."""

    low: float
    high: float = math.inf
    low_open: bool = False

    def check(self, name: str, value: float) -> None:
        number = float(value)
        below = number <= self.low if self.low_open else number < self.low
        if not math.isfinite(number) or below or number > self.high:
            bound = f"{'>' if self.low_open else '>='} {self.low:g}" + (
                f" and <= {self.high:g}" if math.isfinite(self.high) else ""
            )
            raise ConfigError(
                f"option {name} is {value!r}: it must be a number {bound}", fix=f"give {name} a finite number {bound}"
            )


OPTION_RANGES = {
    "cell_px": Range(1),
    "theta_buildings": Range(0, low_open=True),
    "theta_roads": Range(0, low_open=True),
    "tau": Range(0, 1, low_open=True),
    "chip_px": Range(64),
    "overlap_px": Range(0),
    "tolerance_px": Range(0),
    "min_building_m2": Range(0),
    "adapt_minutes": Range(0.5),
}


CLI_NAMES = {
    "cell_px": "--cell-px",
    "theta_buildings": "--theta",
    "theta_roads": "--theta",
    "adapt_minutes": "--adapt-minutes",
}


def check_options(options) -> None:
    """Raise ConfigError for a numeric run option that is not finite or out of its range."""
    for name, allowed in OPTION_RANGES.items():
        allowed.check(CLI_NAMES.get(name, name), getattr(options, name))
    if options.overlap_px * 2 >= options.chip_px:
        raise ConfigError(
            f"overlap_px {options.overlap_px} leaves nothing of {options.chip_px} px chips",
            fix="use an overlap below half the chip size",
        )


def check_images(inputs: EventInputs) -> dict[str, float]:
    """Each image's valid share; an image with none is an error, a low share a warning."""
    shares = {}
    for date, path in (("pre", inputs.pre), ("post", inputs.post)):
        if path is None or is_remote(path):
            continue
        share = shares[date] = valid_share(path, bands=inputs.bands)
        if share == 0:
            raise CorruptFileError(
                f"the {date}-event image holds no valid pixel (all nodata, NaN or masked)",
                path=path,
                fix="check its nodata value (gdalinfo) or give the right image",
            )
        if share < LOW_VALID_SHARE:
            log.warning("%s: only %.0f %% of the %s-event image holds data", path, 100 * share, date)
    return shares


def check_pair(inputs: EventInputs) -> None:
    """The two images open, are georeferenced, overlap, and the AOI lies within their overlap."""
    from geovision.io.align import align_pair
    from geovision.io.bands import RGB

    if is_remote(inputs.pre) or is_remote(inputs.post):
        return
    # the grid is what is checked: any band choice that fits both dates will do (as in the reference stage)
    with align_pair(inputs.pre, inputs.post, aoi=inputs.aoi, bands=inputs.bands, model_bands=RGB) as pair:
        width, height = pair.grid.width, pair.grid.height
    if min(width, height) < MIN_SCENE_PX:
        where = f"the area {'of the AOI within' if inputs.aoi else 'covered by'} both images"
        raise CorruptFileError(
            f"{where} is only {width} x {height} px; segmentation needs at least "
            f"{MIN_SCENE_PX} x {MIN_SCENE_PX} px of context",
            path=inputs.aoi or inputs.pre,
            fix=f"give images (and an AOI) covering at least {MIN_SCENE_PX} px on each side with {inputs.post}",
        )


def check_model(model: str) -> None:
    """``model`` names a shipped model or a bundle folder (an error, not a skipped stage, when it does not)."""
    from geovision.models.registry import resolve_bundle

    if model == "default":
        return  # the shipped default; a broken install is reported by the segment stage and `geovision doctor`
    from geovision.models.bundle import WEIGHTS_NAME, read_meta

    try:
        folder = resolve_bundle(model)
        read_meta(folder)  # its model.json: format, and every field
        if not (folder / WEIGHTS_NAME).is_file():
            raise ModelBundleError(
                f"{WEIGHTS_NAME} is missing", path=folder, fix="a bundle folder needs model.json and model.safetensors"
            )
    except GeovisionError as error:
        raise ModelBundleError(error.message, path=error.path or model, fix=error.fix) from error


def check_run(inputs: EventInputs, options) -> dict[str, float]:
    """Check every input file and option of a run; return the images' valid shares."""
    for path, kind in (
        (inputs.pre, "pre-event image"),
        (inputs.post, "post-event image"),
        (inputs.census, "census file"),
        (inputs.aoi, "AOI file"),
        (inputs.adapt_area, "adapt area"),
        *((path, "adapt label file") for path in inputs.adapt_labels),
    ):
        if path is not None:
            check_input_file(path, kind=kind)
    check_options(options)
    check_model(options.model)
    if inputs.census is not None:
        from geovision.impact.population import read_census

        read_census(Path(inputs.census), inputs.census_pop_field)  # units, and counts in the column
    shares = check_images(inputs)
    check_pair(inputs)
    return shares

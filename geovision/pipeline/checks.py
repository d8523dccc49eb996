"""Every input of a run, checked before the first stage runs (nothing is written on failure).

One place for what would otherwise fail late (after an hour of segmentation) or, worse, not at
all: missing or unreadable files, images with no valid pixel, a census without its population
column or with no units, a ``--model`` that is not a bundle. The numbers of the configuration
are checked by :class:`~geovision.runconfig.RunConfig` itself (finite, in range).
"""

from __future__ import annotations

import logging
from pathlib import Path

from geovision.errors import CorruptFileError, GeovisionError, ModelBundleError
from geovision.io.paths import check_input_file, is_remote
from geovision.io.validity import LOW_VALID_SHARE, valid_share
from geovision.pipeline.events import EventInputs
from geovision.runconfig import RunConfig

log = logging.getLogger(__name__)

MIN_SCENE_PX = 32  # the smallest grid side segmentation is run on (a model needs context around each pixel)


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


def check_census(inputs: EventInputs) -> None:
    """Census polygons hold units and counts in ``census_pop_field``; a population raster opens."""
    if inputs.census is None:
        return
    if inputs.census_kind == "raster":
        from geovision.io.raster import open_raster

        with open_raster(inputs.census, bands=[1]):  # georeference, nodata
            return
    from geovision.impact.population import read_census

    read_census(Path(inputs.census), inputs.census_pop_field)


def check_run(inputs: EventInputs, config: RunConfig) -> dict[str, float]:
    """Check every input file of a run and its model; return the images' valid shares."""
    for path, kind in (
        (inputs.pre, "pre-event image"),
        (inputs.post, "post-event image"),
        (inputs.census, "census file"),
        (inputs.aoi, "AOI file"),
        (inputs.adapt_area, "adapt area"),
        (config.roads.lines, "road lines file (roads.lines)"),
        *((path, "adapt label file") for path in inputs.adapt_labels),
    ):
        if path is not None:
            check_input_file(path, kind=kind)
    check_model(config.segment.model)
    check_census(inputs)
    shares = check_images(inputs)
    check_pair(inputs)
    return shares

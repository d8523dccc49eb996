"""The reference stage of ``geovision run``: the DII of the event's ground truth, which predictions are scored on.

The truth is the event's masks (synthetic and xBD events), else its building footprints (a files
event's ``truth.buildings``) burnt on the pair's grid, a building missing after the event when
its ``damage_field`` is one of ``lost_classes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from geovision.errors import ConfigError
from geovision.io.grid import Grid
from geovision.pipeline.keys import DATES, file_key, truth_key
from geovision.pipeline.stage import Run, Stage
from geovision.runrecord import StageRecord


def footprint_masks(
    buildings: Path, *, damage_field: str, lost_classes: Sequence[str], grid: Grid, out: Path
) -> list[Path]:
    """``footprint_buildings_{pre,post}.tif`` in ``out``: every footprint, and those not lost, on ``grid``."""
    from geovision.io.cog import write_cog
    from geovision.io.labels import rasterize_vectors
    from geovision.io.vectors import read_vectors

    frame = read_vectors(buildings)
    if damage_field not in frame.columns:
        columns = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name)
        raise ConfigError(
            f"the building footprints have no damage column {damage_field!r} (columns: {columns})",
            path=buildings,
            fix="set the event's truth.damage_field in the catalog to the column holding each building's damage",
        )
    frame = frame.to_crs(grid.crs)
    lost = frame[damage_field].astype(str).isin([str(name) for name in lost_classes])
    paths = []
    for date, part in zip(DATES, (frame, frame[~lost]), strict=True):
        mask = rasterize_vectors(part, transform=grid.transform, width=grid.width, height=grid.height)
        path = out / f"footprint_buildings_{date}.tif"
        paths.append(
            write_cog(path, mask, transform=grid.transform, crs=grid.crs, nodata=None, kind="mask", overwrite=True)
        )
    return paths


def given_masks(run: Run) -> list[Path] | None:
    """The event's own pre/post truth masks (None when it has none)."""
    folder = run.inputs.truth_masks
    masks = [Path(folder) / f"buildings_{date}.tif" for date in DATES] if folder else []
    return masks if masks and all(path.exists() for path in masks) else None


def footprints(run: Run) -> Path | None:
    """The building footprints the truth masks are burnt from (only for an event without truth masks)."""
    path = run.inputs.truth_buildings
    return Path(path) if given_masks(run) is None and path and Path(path).exists() else None


def _reference_inputs(run: Run) -> dict[str, Any]:
    keys: dict[str, Any] = {
        "truth": truth_key(run.inputs.truth_masks),
        "area": file_key(run.inputs.truth_affected_area),
    }
    burnt = footprints(run)
    if burnt is not None:
        keys.update(
            footprints=file_key(burnt),
            damage_field=run.inputs.damage_field,
            lost_classes=list(run.inputs.lost_classes),
        )
    if run.inputs.aoi or burnt is not None:  # the truth masks are put on the pair's grid (within the AOI)
        keys.update(aoi=run.hashes.get("aoi"), pre=run.hashes.get("pre"), post=run.hashes.get("post"))
    return keys


def _on_pair_grid(run: Run, masks: list[Path], burnt: Path | None, out: Path) -> list[Path]:
    """The truth masks on the segment stage's grid: footprints burnt on it; with an AOI, cut to it."""
    from geovision.io.align import align_pair, warp_to_grid
    from geovision.io.bands import RGB

    inputs = run.inputs
    # only the grid is used: any band choice that fits both dates (e.g. a pan pre, a 4-band post) will do
    with align_pair(inputs.pre, inputs.post, aoi=inputs.aoi, bands=inputs.bands, model_bands=RGB) as pair:
        if burnt is not None:
            out.mkdir(parents=True, exist_ok=True)
            lost, field = inputs.lost_classes, inputs.damage_field
            masks = footprint_masks(burnt, damage_field=field, lost_classes=lost, grid=pair.grid, out=out)
        if not inputs.aoi:
            return masks
        return [
            warp_to_grid(mask, pair.grid, out / f"truth_{mask.name}", aoi=pair.aoi, overwrite=True) for mask in masks
        ]


def _reference(run: Run, record: StageRecord) -> None:
    """DII of the ground-truth masks (when the event has them, or building footprints): the reference.

    Footprints are burnt on the segment stage's grid (the pre/post overlap); with an AOI, the masks
    are then put on that grid (the AOI's bounding box within the overlap), nodata outside its polygons.
    """
    masks, burnt, aoi = given_masks(run), footprints(run), run.inputs.aoi
    if masks is None and burnt is None:
        record.status, record.reason = "skipped", "the event has no ground truth (masks or building footprints)"
        return
    from geovision.impact.workflow import impact_stage

    out = run.out / "reference"
    if burnt is not None or aoi:
        masks = _on_pair_grid(run, masks or [], burnt, out)
    truth = run.inputs.truth_affected_area
    result = impact_stage(
        masks[0],
        masks[1],
        out,
        kind="buildings",
        cell_px=run.config.grid.cell_px,
        tau=0.5,
        theta=run.config.grid.theta.buildings,
        truth=truth if truth and Path(truth).exists() else None,
        overwrite=True,
    )
    record.outputs = {name: str(path) for name, path in result.paths.items()}
    record.figures = result.summary


reference = Stage(
    "reference",
    _reference,
    inputs=_reference_inputs,
    config=("grid.cell_px", "grid.theta.buildings"),
    doc=_reference.__doc__ or "",
)

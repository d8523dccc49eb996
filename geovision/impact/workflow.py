"""File-level impact stages, shared by ``geovision impact``/``population`` and ``geovision run``.

:func:`impact_stage` reads the masks in one pass (:class:`~geovision.impact.scan.MaskScan`):
each file once per cell-aligned window, the lost pixels computed once, and the DII counts,
persons and road samples accumulated from the same window. Outputs go through the atomic
COG/vector writers. :func:`open_mask_lazy` is the lazy (dask) way in, for truth masks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from geovision import defaults
from geovision.errors import ConfigError
from geovision.impact.dii import MeanOver, flag_impacted
from geovision.impact.grid import cell_px_from_m
from geovision.impact.scan import WINDOW_PX, CellCounts, MaskScan
from geovision.io.grid import Grid

if TYPE_CHECKING:
    from geovision.impact.affected import PersonCounts, Uncertainty
    from geovision.impact.population import Weighting
    from geovision.impact.roads import RoadSamples, TracedRoads

CHUNK_PX = 2048


class _Chunks:
    """Band 1 of a raster as an array dask can slice: each chunk one read of the one reader, NaN where invalid."""

    def __init__(self, path: str | os.PathLike[str]):
        from geovision.io.raster import open_raster

        with open_raster(path, bands=[1]) as raster:  # validates file, georeference and nodata
            self.raster = raster
        self.shape, self.dtype, self.ndim = (raster.height, raster.width), np.dtype(np.float32), 2

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        from geovision.types import PixelWindow

        (row0, row1, _), (col0, col1, _) = (k.indices(n) for k, n in zip(key, self.shape, strict=True))
        data, valid = self.raster.read(PixelWindow(col0, row0, col1 - col0, row1 - row0))
        return np.where(valid, data[0], np.float32(np.nan))


def open_mask_lazy(path: str | os.PathLike[str], *, chunk_px: int = CHUNK_PX) -> tuple[xr.DataArray, xr.DataArray]:
    """Band 1 of a mask/probability raster as a dask-backed float32 DataArray (NaN where invalid), and its valid mask.

    The lazy path of the one reader: every chunk is a :meth:`RasterSource.read
    <geovision.io.raster.RasterSource.read>`, so validity is the same rule (GDAL's mask and finite values).
    """
    import dask.array as da
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    chunks = _Chunks(path)
    grid = Grid.from_dataset(chunks.raster)
    data = da.from_array(chunks, chunks=(chunk_px, chunk_px), lock=True, meta=np.empty((0, 0), np.float32))
    array = xr.DataArray(data, dims=("y", "x")).rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    return array, array.notnull()


def dii_from_files(
    pre_mask: Any,
    post_mask: Any,
    *,
    valid: Any = None,
    cell_px: int | None = defaults.CELL_PX,
    cell_m: float | None = None,
    tau: float = defaults.TAU,
    theta: float | None = None,
    mean_over: MeanOver = "all",
    tolerance_px: int = 0,
    min_valid_fraction: float = 0.5,
    window_px: int = WINDOW_PX,
) -> xr.Dataset:
    """The DII grid of two mask files (one :class:`MaskScan` pass); ``impacted`` added when ``theta`` is given."""
    with MaskScan(pre_mask, post_mask, valid=valid) as scan:
        counts = CellCounts(
            scan.grid, _cell_px(scan.grid, cell_px, cell_m), mean_over=mean_over, min_valid_fraction=min_valid_fraction
        )
        scan.run([counts], tau=tau, tolerance_px=tolerance_px, cell_px=counts.cell_px, window_px=window_px)
    return _dii(counts, tau, tolerance_px, theta)


def _cell_px(grid: Grid, cell_px: int | None, cell_m: float | None) -> int:
    if cell_m is not None:
        return cell_px_from_m(cell_m, grid.transform, grid.crs)
    if cell_px is None:
        raise ConfigError("no cell size given", fix="pass --cell-px or --cell-m")
    return cell_px


def _dii(counts: CellCounts, tau: float, tolerance_px: int, theta: float | None) -> xr.Dataset:
    ds = counts.dataset(tau=tau, tolerance_px=tolerance_px)
    if theta is not None:
        ds["impacted"] = flag_impacted(ds, theta)
        ds.attrs["theta"] = float(theta)
    return ds


def read_truth_grid(truth: Any, ds: xr.Dataset, *, min_overlap: float = 0.5, exclude_mixed: bool = False) -> np.ndarray:
    """Truly affected cells from polygons (any vector file) or an affected-area mask raster."""
    from affine import Affine

    from geovision.impact.evaluate_impact import truth_from_mask, truth_from_polygons

    transform = Affine(*ds.attrs["pixel_transform"])
    shape = (int(ds.attrs["raster_height"]), int(ds.attrs["raster_width"]))
    cell_px = int(ds.attrs["cell_px"])
    if Path(truth).suffix.lower() in (".tif", ".tiff", ".vrt"):
        mask, ok = open_mask_lazy(truth)
        if mask.shape != shape:
            raise ConfigError("truth mask is not on the masks' grid", path=truth, fix="align it first")
        return truth_from_mask(
            ((mask > 0) & ok).data, cell_px=cell_px, min_overlap=min_overlap, exclude_mixed=exclude_mixed
        )
    from geovision.io.vectors import read_vectors

    return truth_from_polygons(
        read_vectors(truth),
        transform=transform,
        raster_shape=shape,
        cell_px=cell_px,
        crs=ds.attrs.get("crs"),
        min_overlap=min_overlap,
        exclude_mixed=exclude_mixed,
    )


@dataclass
class ImpactOutputs:
    """What an impact stage wrote, and its summary numbers."""

    paths: dict[str, Path] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def impact_stage(
    pre_mask: Any,
    post_mask: Any,
    out_dir: Any,
    *,
    kind: str = "buildings",
    valid: Any = None,
    cell_px: int | None = defaults.CELL_PX,
    cell_m: float | None = None,
    tau: float = defaults.TAU,
    theta: float = defaults.THETA,
    mean_over: MeanOver = "all",
    tolerance_px: int = 0,
    min_valid_fraction: float = 0.5,
    truth: Any = None,
    min_overlap: float = 0.5,
    exclude_mixed: bool = False,
    census: Any = None,
    pop_field: str = "pop",
    pop_raster: Any = None,
    weighting: Weighting = "pixel",
    interval: Uncertainty | None = None,
    validation_sample: Any = None,
    road_lines: Any = None,
    overwrite: bool = False,
    window_px: int = WINDOW_PX,
) -> ImpactOutputs:
    """DII grid (+ evaluation, affected population, damaged roads) of one feature kind into ``out_dir``.

    Writes ``<kind>_impact.tif`` (COG, one band per variable), ``.gpkg`` and
    ``.geojson`` grids, ``<kind>_pr_curve.csv/.png`` with ``truth``,
    ``<kind>_affected_by_unit.csv`` with ``census``/``pop_raster``,
    ``roads_damaged.gpkg`` for roads, and ``<kind>_summary.json``. ``interval``
    (``model`` or ``validation`` with a ``validation_sample`` CSV of per-cell ``pred``,
    ``true`` and optional ``quantity`` columns) adds bootstrap intervals (docs/impact.md).
    The masks are read once, window by window (``window_px``, rounded up to whole cells).
    """
    from geovision.impact.export import write_grid
    from geovision.io.atomic import atomic_output

    if kind not in ("buildings", "roads"):
        raise ConfigError(f"kind must be 'buildings' or 'roads', got {kind!r}", fix="pass --kind buildings|roads")
    out_dir = Path(out_dir)
    validation = None if validation_sample is None else read_validation_sample(validation_sample)
    with MaskScan(pre_mask, post_mask, valid=valid) as scan:
        counts = CellCounts(
            scan.grid, _cell_px(scan.grid, cell_px, cell_m), mean_over=mean_over, min_valid_fraction=min_valid_fraction
        )
        persons = None
        if census is not None or pop_raster is not None:
            persons = _person_counts(
                scan.grid, counts.cell_px, census, pop_field, pop_raster, weighting, tau, interval, validation
            )
        roads = _road_counts(scan.grid, road_lines, tau) if kind == "roads" else None
        consumers = [c for c in (counts, persons, roads) if c is not None]
        scan.run(consumers, tau=tau, tolerance_px=tolerance_px, cell_px=counts.cell_px, window_px=window_px)
    ds = _dii(counts, tau, tolerance_px, theta)
    result = ImpactOutputs()
    from geovision.vector.units import pixel_size_m

    cell_size_m = pixel_size_m(scan.grid.transform, ds.attrs["crs"]) * counts.cell_px
    result.summary = {
        "kind": kind,
        "cell_px": counts.cell_px,
        "cell_m": round(cell_size_m, 3),
        "theta": theta,
        "tau": tau,
        "mean_over": mean_over,
        "tolerance_px": tolerance_px,
        "mean_f": float(ds["mean_f"]),
        "cells": int(ds["dii"].size),
        "cells_defined": int(ds["dii"].notnull().sum()),
        "cells_impacted": int(np.nansum(ds["impacted"].to_numpy())),
    }
    if truth is not None:
        result.summary["evaluation"] = _evaluate(
            ds, truth, out_dir, kind, min_overlap, exclude_mixed, overwrite, result.paths
        )
    if persons is not None:
        affected = persons.result(ds, uncertainty=interval, validation=validation)
        for name in affected.cells.data_vars:
            ds[name] = affected.cells[name]
        path = out_dir / f"{kind}_affected_by_unit.csv"
        with atomic_output(path, overwrite=overwrite) as tmp:
            affected.units.to_csv(tmp, index=False)
        result.paths["affected_by_unit"] = path
        result.summary["population"] = affected.totals
    if roads is not None:
        grid = _write_roads(roads, counts.cell_px, scan.grid, out_dir, overwrite, result.paths)
        for name in grid.data_vars:
            ds[name] = (("y", "x"), grid[name].to_numpy())
        result.summary["road_lost_m"] = float(grid["road_lost_m"].sum())
        result.summary["road_length_m"] = float(grid["road_length_m"].sum())
    ds = ds.drop_vars("mean_f")
    result.paths.update(write_grid(ds, out_dir, name=f"{kind}_impact", overwrite=overwrite))
    summary_path = out_dir / f"{kind}_summary.json"
    with atomic_output(summary_path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(result.summary, indent=2, default=float))
    result.paths["summary"] = summary_path
    return result


def _evaluate(
    ds: xr.Dataset,
    truth: Any,
    out_dir: Path,
    kind: str,
    min_overlap: float,
    exclude_mixed: bool,
    overwrite: bool,
    paths: dict,
) -> dict:
    from geovision.evaluate.grid import UNDEFINED, best_theta, cell_outcomes, grid_f1, pr_curve, save_pr_curve

    true = read_truth_grid(truth, ds, min_overlap=min_overlap, exclude_mixed=exclude_mixed)
    defined = ds["dii"].notnull().to_numpy()
    true = np.where(defined, true, np.nan)
    ds["truth"] = (("y", "x"), true.astype(np.float32))
    outcome = cell_outcomes(ds["impacted"], true).astype(np.float32)  # TN 0, TP 1, FP 2, FN 3
    ds["outcome"] = (("y", "x"), np.where(outcome == UNDEFINED, np.nan, outcome))
    scores = grid_f1(ds["impacted"], true)
    curve = pr_curve(ds["dii"], true)
    paths["pr_curve_csv"], paths["pr_curve_png"] = out_dir / f"{kind}_pr_curve.csv", out_dir / f"{kind}_pr_curve.png"
    out_dir.mkdir(parents=True, exist_ok=True)
    save_pr_curve(curve, paths["pr_curve_csv"], paths["pr_curve_png"], overwrite=overwrite)
    return {
        "at_theta": {k: float(v) for k, v in scores.items()},
        "best": {k: float(v) for k, v in best_theta(curve).items()},
    }


def read_validation_sample(path: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{quantity: (pred, true)}`` from a CSV of per-cell ``pred``, ``true`` (and ``quantity``) columns."""
    import pandas as pd

    from geovision.io.raster import check_input_file

    check_input_file(path, kind="validation sample")
    table = pd.read_csv(path)
    if not {"pred", "true"} <= set(table.columns):
        raise ConfigError(
            f"validation sample needs 'pred' and 'true' columns, has {list(table.columns)}",
            path=path,
            fix="write one row per validation cell: pred,true[,quantity]",
        )
    if "quantity" not in table:
        table["quantity"] = "persons_lost"
    return {str(q): (g["pred"].to_numpy(float), g["true"].to_numpy(float)) for q, g in table.groupby("quantity")}


def _person_counts(
    grid: Grid,
    cell_px: int,
    census: Any,
    pop_field: str,
    pop_raster: Any,
    weighting: Weighting,
    tau: float,
    interval: Uncertainty | None,
    validation: dict | None,
) -> PersonCounts:
    """The persons' part of the pass: census units (or a population raster's cells) as zones."""
    from geovision.impact.affected import PersonCounts, check_uncertainty
    from geovision.impact.population import PolygonZones, RasterZones, Zones, read_census

    check_uncertainty(interval, validation)
    zones: Zones
    if census is not None:
        zones = PolygonZones(read_census(census, pop_field), pop_field=pop_field, crs=grid.crs)
    else:
        from geovision.io.raster import footprint_bounds

        zones = RasterZones(
            pop_raster, bounds=footprint_bounds(grid.transform, grid.width, grid.height), bounds_crs=grid.crs
        )
    return PersonCounts(zones, grid, cell_px, weighting=weighting, values="mask", tau=tau, model=interval == "model")


def _road_counts(grid: Grid, road_lines: Any, tau: float) -> RoadSamples | TracedRoads:
    """Given lines' samples (the line is the road before), else lines traced from the pre mask in the pass."""
    from geovision.impact.roads import RoadSamples, TracedRoads

    if road_lines is not None:
        from geovision.io.vectors import read_vectors

        return RoadSamples(read_vectors(road_lines), grid, line_is_before=True)
    return TracedRoads(grid, tau=tau, min_spur_m=5.0)


def _write_roads(
    roads: RoadSamples | TracedRoads, cell_px: int, grid: Grid, out_dir: Path, overwrite: bool, paths: dict
) -> xr.Dataset:
    """Write ``roads_damaged.gpkg`` (simplified outlines); return the per-cell road grid."""
    from geovision.io.vectors import write_vectors
    from geovision.vector.simplify import simplify_outlines

    lines, cells = roads.result(cell_px)
    if cells is None:  # never: result returns the grid whenever cell_px is given
        raise RuntimeError("damaged roads returned no grid")
    paths["damaged_roads"] = out_dir / "roads_damaged.gpkg"
    out_dir.mkdir(parents=True, exist_ok=True)
    # lengths and losses are measured above, on the unsimplified lines
    write_vectors(
        simplify_outlines(lines, grid.transform), paths["damaged_roads"], layer="damaged_roads", overwrite=overwrite
    )
    return cells

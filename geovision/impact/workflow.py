"""File-level impact stages, shared by ``geovision impact``/``population`` and ``geovision run``.

Masks are opened lazily (rioxarray + dask chunks), so the DII of a country-size
mosaic is reduced chunk by chunk; outputs go through the atomic COG/vector writers.
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
from geovision.errors import ConfigError, CorruptFileError
from geovision.impact.dii import MeanOver, compute_dii_grid, flag_impacted
from geovision.impact.grid import cell_px_from_m
from geovision.io.grid import Grid

if TYPE_CHECKING:
    from geovision.impact.affected import AffectedResult, Uncertainty
    from geovision.impact.population import Weighting, Zones

CHUNK_PX = 2048


def open_mask_lazy(path: str | os.PathLike[str], *, chunk_px: int = CHUNK_PX) -> tuple[xr.DataArray, xr.DataArray]:
    """Band 1 of a mask/probability raster as a dask-backed DataArray, and its valid mask.

    Valid = not the declared nodata (never assumed) and not NaN.
    """
    import rioxarray

    from geovision.io.raster import open_raster

    with open_raster(path, bands=[1]) as raster:  # validates file, georeference and nodata
        nodata = raster.nodata
    opened = rioxarray.open_rasterio(path, chunks={"band": 1, "y": chunk_px, "x": chunk_px}, masked=False, lock=False)
    if not isinstance(opened, xr.DataArray):  # a file of several subdatasets (netCDF, HDF)
        raise CorruptFileError(
            "holds several rasters, not one mask",
            path=path,
            fix="give a single-band GeoTIFF (gdal_translate the subdataset you mean)",
        )
    array = opened.isel(band=0, drop=True)
    valid = array == array  # false on NaN
    if nodata is not None and not np.isnan(nodata):
        valid = valid & (array != nodata)
    return array, valid


def _mask_grid(array: xr.DataArray) -> Grid:
    return Grid(array.rio.crs, array.rio.transform(), array.rio.width, array.rio.height)


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
    chunk_px: int = CHUNK_PX,
) -> xr.Dataset:
    """The DII grid (computed) of two mask files; ``impacted`` added when ``theta`` is given."""
    pre, pre_ok = open_mask_lazy(pre_mask, chunk_px=chunk_px)
    post, post_ok = open_mask_lazy(post_mask, chunk_px=chunk_px)
    _mask_grid(pre).check_same(_mask_grid(post), names=("pre mask", "post mask"), paths=(pre_mask, post_mask))
    ok = pre_ok & post_ok
    if valid is not None:
        extra, extra_ok = open_mask_lazy(valid, chunk_px=chunk_px)
        if extra.shape != pre.shape:
            raise ConfigError("valid mask is not on the masks' grid", path=valid, fix="align it first")
        ok = ok & extra_ok & (extra > 0)
    transform, crs = pre.rio.transform(), pre.rio.crs
    if cell_m is not None:
        cell_px = cell_px_from_m(cell_m, transform, crs)
    if cell_px is None:
        raise ConfigError("no cell size given", fix="pass --cell-px or --cell-m")
    ds = compute_dii_grid(
        pre.data,
        post.data,
        valid=ok.data,
        cell_px=cell_px,
        tau=tau,
        mean_over=mean_over,
        tolerance_px=tolerance_px,
        min_valid_fraction=min_valid_fraction,
        transform=transform,
        crs=crs,
    ).compute()
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
) -> ImpactOutputs:
    """DII grid (+ evaluation, affected population, damaged roads) of one feature kind into ``out_dir``.

    Writes ``<kind>_impact.tif`` (COG, one band per variable), ``.gpkg`` and
    ``.geojson`` grids, ``<kind>_pr_curve.csv/.png`` with ``truth``,
    ``<kind>_affected_by_unit.csv`` with ``census``/``pop_raster``,
    ``roads_damaged.gpkg`` for roads, and ``<kind>_summary.json``. ``interval``
    (``model`` or ``validation`` with a ``validation_sample`` CSV of per-cell ``pred``,
    ``true`` and optional ``quantity`` columns) adds bootstrap intervals (docs/impact.md).
    """
    from geovision.impact.export import write_grid
    from geovision.io.atomic import atomic_output

    if kind not in ("buildings", "roads"):
        raise ConfigError(f"kind must be 'buildings' or 'roads', got {kind!r}", fix="pass --kind buildings|roads")
    out_dir = Path(out_dir)
    ds = dii_from_files(
        pre_mask,
        post_mask,
        valid=valid,
        cell_px=cell_px,
        cell_m=cell_m,
        tau=tau,
        theta=theta,
        mean_over=mean_over,
        tolerance_px=tolerance_px,
        min_valid_fraction=min_valid_fraction,
    )
    result = ImpactOutputs()
    from affine import Affine

    from geovision.vector.units import pixel_size_m

    cell_size_m = pixel_size_m(Affine(*ds.attrs["pixel_transform"]), ds.attrs["crs"]) * int(ds.attrs["cell_px"])
    result.summary = {
        "kind": kind,
        "cell_px": int(ds.attrs["cell_px"]),
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
    if census is not None or pop_raster is not None:
        affected = _affected(
            ds, pre_mask, post_mask, valid, census, pop_field, pop_raster, weighting, interval, validation_sample
        )
        for name in affected.cells.data_vars:
            ds[name] = affected.cells[name]
        path = out_dir / f"{kind}_affected_by_unit.csv"
        with atomic_output(path, overwrite=overwrite) as tmp:
            affected.units.to_csv(tmp, index=False)
        result.paths["affected_by_unit"] = path
        result.summary["population"] = affected.totals
    if kind == "roads":
        grid = _roads(ds, pre_mask, post_mask, valid, road_lines, tau, tolerance_px, out_dir, overwrite, result.paths)
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


def _affected(
    ds: xr.Dataset,
    pre_mask: Any,
    post_mask: Any,
    valid: Any,
    census: Any,
    pop_field: str,
    pop_raster: Any,
    weighting: Weighting,
    interval: Uncertainty | None,
    validation_sample: Any,
) -> AffectedResult:
    from geovision.impact.affected import affected_population
    from geovision.impact.population import PolygonZones, RasterZones, allocate, read_census
    from geovision.impact.sources import FileSource

    zones: Zones
    with FileSource(pre_mask) as pre:
        if census is not None:
            zones = PolygonZones(read_census(census, pop_field), pop_field=pop_field, crs=pre.crs)
        else:
            from geovision.io.raster import footprint_bounds

            zones = RasterZones(
                pop_raster, bounds=footprint_bounds(pre.transform, pre.width, pre.height), bounds_crs=pre.crs
            )
        allocation = allocate(zones, pre, weighting=weighting, values="mask", tau=float(ds.attrs["tau"]))
        validation = None if validation_sample is None else read_validation_sample(validation_sample)
        return affected_population(
            pre, post_mask, allocation, ds, valid=valid, uncertainty=interval, validation=validation
        )


def _roads(
    ds: xr.Dataset,
    pre_mask: Any,
    post_mask: Any,
    valid: Any,
    road_lines: Any,
    tau: float,
    tolerance_px: int,
    out_dir: Path,
    overwrite: bool,
    paths: dict,
) -> xr.Dataset:
    from geovision.impact.roads import damaged_roads
    from geovision.io.raster import open_raster
    from geovision.io.vectors import read_vectors, write_vectors
    from geovision.vector.simplify import simplify_outlines

    if road_lines is not None:
        lines, pre = read_vectors(road_lines), None
    else:
        from geovision.vector.road_raster import road_lines_from_raster

        lines = road_lines_from_raster(pre_mask, tau=tau, min_spur_m=5.0)  # window by window
        pre = pre_mask
    roads, grid = damaged_roads(
        lines, post_mask, pre=pre, valid=valid, tau=tau, tolerance_px=tolerance_px, cell_px=int(ds.attrs["cell_px"])
    )
    if grid is None:  # never: damaged_roads returns the grid whenever cell_px is given
        raise RuntimeError("damaged_roads returned no grid")
    paths["damaged_roads"] = out_dir / "roads_damaged.gpkg"
    out_dir.mkdir(parents=True, exist_ok=True)
    with open_raster(pre_mask, bands=[1]) as raster:
        transform = raster.transform
    # lengths and losses are measured above, on the unsimplified lines
    write_vectors(
        simplify_outlines(roads, transform), paths["damaged_roads"], layer="damaged_roads", overwrite=overwrite
    )
    return grid

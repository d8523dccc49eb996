"""Write impact grids: a multi-band float32 COG (one pixel per cell, NaN nodata) and a vector grid.

The grid Dataset carries its georeference in attrs (``pixel_transform`` of the
masks, ``cell_px``, ``raster_height``/``raster_width``, ``crs`` WKT), as set by
:func:`geovision.impact.dii.compute_dii_grid`.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import xarray as xr
from affine import Affine

from geovision.errors import ConfigError, GeoreferenceError
from geovision.impact.grid import cell_boxes, cell_transform


def _grid_variables(ds: xr.Dataset, variables: list[str] | None) -> list[str]:
    names = [str(v) for v in ds.data_vars if ds[v].dims == ("y", "x")] if variables is None else list(variables)
    missing = [v for v in names if v not in ds]
    if missing:
        raise ConfigError(f"grid has no variable(s) {missing}", fix=f"choose from {list(ds.data_vars)}")
    return names


def _georeference(ds: xr.Dataset) -> tuple[Affine, tuple[int, int], str]:
    if "pixel_transform" not in ds.attrs or "crs" not in ds.attrs:
        raise GeoreferenceError(
            "the impact grid has no georeference",
            fix="compute it with transform= and crs= (or from georeferenced masks)",
        )
    return (
        Affine(*ds.attrs["pixel_transform"]),
        (int(ds.attrs["raster_height"]), int(ds.attrs["raster_width"])),
        ds.attrs["crs"],
    )


def grid_frame(ds: xr.Dataset, variables: list[str] | None = None, *, only_covered: bool = True) -> gpd.GeoDataFrame:
    """One polygon per cell (clipped to the raster) with ``row``, ``col`` and every grid variable.

    ``only_covered`` keeps only cells with valid pixels (``n_valid > 0``) when the grid has them.
    """
    transform, raster_shape, crs = _georeference(ds)
    names = _grid_variables(ds, variables)
    rows, cols = np.meshgrid(np.arange(ds.sizes["y"]), np.arange(ds.sizes["x"]), indexing="ij")
    data = {"row": rows.ravel(), "col": cols.ravel()}
    for name in names:
        values = np.asarray(ds[name].to_numpy()).ravel()
        data[name] = values.astype(np.float64) if values.dtype.kind == "f" else values
    frame = gpd.GeoDataFrame(data, geometry=cell_boxes(transform, raster_shape, int(ds.attrs["cell_px"])), crs=crs)
    if only_covered and "n_valid" in ds:
        frame = frame[np.asarray(ds["n_valid"].to_numpy()).ravel() > 0].reset_index(drop=True)
    return frame


def write_grid_cog(
    ds: xr.Dataset, path: str | os.PathLike[str], variables: list[str] | None = None, *, overwrite: bool = False
) -> Path:
    """The grid's variables as bands (named after them) of a float32 COG with NaN nodata."""
    from geovision.io.cog import write_cog

    transform, _, crs = _georeference(ds)
    names = _grid_variables(ds, variables)
    bands = np.stack([np.asarray(ds[name].to_numpy(), dtype=np.float32) for name in names])
    return write_cog(
        path,
        bands,
        transform=cell_transform(transform, int(ds.attrs["cell_px"])),
        crs=crs,
        nodata=float("nan"),
        kind="continuous",
        overwrite=overwrite,
        band_names=names,
    )


def write_grid(
    ds: xr.Dataset,
    out_dir: str | os.PathLike[str],
    *,
    name: str = "impact_grid",
    variables: list[str] | None = None,
    overwrite: bool = False,
) -> dict[str, Path]:
    """``<name>.tif`` (COG), ``<name>.gpkg`` and ``<name>.geojson`` in ``out_dir``; returns their paths."""
    from geovision.io.vectors import write_vectors

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"cog": out_dir / f"{name}.tif", "gpkg": out_dir / f"{name}.gpkg", "geojson": out_dir / f"{name}.geojson"}
    write_grid_cog(ds, paths["cog"], variables, overwrite=overwrite)
    frame = grid_frame(ds, variables)
    write_vectors(frame, paths["gpkg"], layer=name, overwrite=overwrite)
    write_vectors(frame, paths["geojson"], overwrite=overwrite)
    return paths

"""Population on building pixels (HRSL-style dasymetric disaggregation).

Counts of *zones* (census units, or the cells of an existing population raster)
are spread over the building pixels inside each zone, in proportion to a weight
per pixel (``pixel``: building pixels or building counts; ``area``: the same times
the pixel's area in m², which matters on geographic grids). A zone with no
building gets areal weighting (persons proportional to pixel area) and is flagged.
Every pixel belongs to at most one zone, so each zone's total is preserved exactly
(up to floating point) on the fine grid and in any sum of it.

Two passes, window by window: pass 1 sums the weights per zone, pass 2 emits
persons per pixel (``persons``), aggregated to any coarser grid by the caller.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine
from rasterio import features

from geovision import defaults
from geovision.errors import ConfigError
from geovision.impact.grid import block_sum
from geovision.impact.sources import aligned_windows, as_source
from geovision.progress import progress
from geovision.types import PixelWindow
from geovision.vector.units import METRES_PER_DEGREE, pixel_size_m

Weighting = Literal["pixel", "area"]
BuildingValues = Literal["mask", "count", "none"]
METHOD_BUILDINGS, METHOD_AREAL, METHOD_OUTSIDE, METHOD_MISSING = "buildings", "areal", "outside", "missing"


def pixel_area_m2(transform: Affine, crs: Any, rows: np.ndarray) -> np.ndarray:
    """Area in m² of the pixels of the given rows (spherical approximation on a geographic CRS)."""
    rows = np.asarray(rows)
    if crs is not None:
        from rasterio.crs import CRS

        crs = CRS.from_user_input(crs)
        if crs.is_geographic:
            lat = transform.f + transform.e * (rows + 0.5)
            side = METRES_PER_DEGREE**2 * abs(transform.a * transform.e)
            return side * np.cos(np.radians(lat))
    return np.full(rows.shape, pixel_size_m(transform, crs) ** 2, dtype=np.float64)


class Zones(Protocol):
    """Areas with a known population: ``totals[i]`` persons in zone ``i``."""

    totals: np.ndarray

    def ids(self, window: PixelWindow, transform: Affine, crs: Any) -> np.ndarray:
        """Zone index (int64, -1 for none) of every pixel of ``window`` on the given grid."""
        ...


class PolygonZones:
    """Census units (any CRS) with a population column; smaller units win where polygons overlap.

    ``skip_missing``: a unit whose count is missing keeps its pixels, but their
    persons are NaN (unknown) instead of raising.
    """

    def __init__(self, units: gpd.GeoDataFrame, *, pop_field: str = "pop", crs: Any = None, skip_missing: bool = False):
        check_population_field(units, pop_field, allow_missing=skip_missing)
        if units.crs is None:
            raise ConfigError("census units have no CRS", fix="write the census file with a CRS (e.g. GPKG)")
        units = units.to_crs(crs) if crs is not None else units
        self.units = units.reset_index(drop=True)
        self.units["geometry"] = self.units.geometry.make_valid()
        self.totals = pd.to_numeric(self.units[pop_field], errors="coerce").to_numpy(dtype=np.float64)
        with warnings.catch_warnings():  # planar area in any CRS is enough to order units by size
            warnings.simplefilter("ignore", UserWarning)
            self._order = np.argsort(-self.units.geometry.area.to_numpy(), kind="stable")  # big first, small last
        self._points = self.units.geometry.representative_point()

    def ids(self, window: PixelWindow, transform: Affine, crs: Any) -> np.ndarray:
        win_transform = transform @ Affine.translation(window.col_off, window.row_off)
        x0, y0 = win_transform @ (0, 0)
        x1, y1 = win_transform @ (window.width, window.height)
        import shapely

        hits = self.units.sindex.query(shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
        out_shape = (window.height, window.width)
        if hits.size == 0:
            return np.full(out_shape, -1, dtype=np.int64)
        hits = self._order[np.isin(self._order, hits)]
        shapes = [(self.units.geometry.iloc[i], int(i)) for i in hits]
        # representative points last, so a unit too small to hold a pixel centre still gets one pixel
        shapes += [(self._points.iloc[i], int(i)) for i in hits]
        ids = features.rasterize(shapes, out_shape=out_shape, transform=win_transform, fill=-1, dtype="int32")
        return ids.astype(np.int64)


class RasterZones:
    """The cells of an existing population raster (WorldPop, HRSL, GHS-POP) as zones.

    Only the part of the raster over ``bounds`` (in ``bounds_crs``, default the
    raster's CRS) is read, so a country-wide product can serve a city-size scene.
    """

    def __init__(
        self, pop_raster: Any, *, bounds: tuple[float, float, float, float] | None = None, bounds_crs: Any = None
    ):
        from rasterio import windows as rio_windows
        from rasterio.warp import transform_bounds

        self.source = as_source(pop_raster)
        full = PixelWindow(0, 0, self.source.width, self.source.height)
        if bounds is not None:
            if bounds_crs is not None and self.source.crs is not None and bounds_crs != self.source.crs:
                bounds = transform_bounds(bounds_crs, self.source.crs, *bounds, densify_pts=21)
            win = rio_windows.from_bounds(*bounds, transform=self.source.transform)
            col0, row0 = max(math.floor(win.col_off) - 1, 0), max(math.floor(win.row_off) - 1, 0)
            col1 = min(math.ceil(win.col_off + win.width) + 1, self.source.width)
            row1 = min(math.ceil(win.row_off + win.height) + 1, self.source.height)
            if col1 <= col0 or row1 <= row0:
                raise ConfigError(
                    "population raster does not overlap the buildings raster",
                    path=getattr(self.source, "path", None),
                    fix="use a population raster that covers the scene",
                )
            full = PixelWindow(col0, row0, col1 - col0, row1 - row0)
        self.window = full
        values, valid = self.source.read(full)
        values = np.where(valid, values, 0).astype(np.float64)
        if np.any(values < 0):
            raise ConfigError(
                "population raster has negative counts",
                path=getattr(self.source, "path", None),
                fix="declare the raster's nodata value",
            )
        self.totals = values.ravel()
        self.transform = self.source.transform @ Affine.translation(full.col_off, full.row_off)
        self._inverse = ~self.transform

    def ids(self, window: PixelWindow, transform: Affine, crs: Any) -> np.ndarray:
        rows, cols = np.mgrid[
            window.row_off : window.row_off + window.height, window.col_off : window.col_off + window.width
        ]
        xs, ys = transform @ (cols + 0.5, rows + 0.5)
        if crs is not None and self.source.crs is not None and crs != self.source.crs:
            from pyproj import Transformer

            xs, ys = Transformer.from_crs(crs, self.source.crs, always_xy=True).transform(xs, ys)
        pc, pr = self._inverse @ (xs, ys)
        pc, pr = np.floor(pc).astype(np.int64), np.floor(pr).astype(np.int64)
        inside = (pc >= 0) & (pc < self.window.width) & (pr >= 0) & (pr < self.window.height)
        return np.where(inside, pr * self.window.width + pc, -1)


def read_census(path: Any, pop_field: str, *, skip_missing: bool = False) -> gpd.GeoDataFrame:
    """Census units from a vector file: at least one unit, and ``pop_field`` holding counts (errors name the file)."""
    from geovision.io.vectors import read_vectors

    units = read_vectors(path)
    if len(units) == 0:
        raise ConfigError(
            "census file has no units (0 features)",
            path=path,
            fix="give a census layer with one polygon per unit and its population",
        )
    try:
        check_population_field(units, pop_field, allow_missing=skip_missing)
    except ConfigError as error:
        raise ConfigError(error.message, path=path, fix=error.fix) from error
    return units


def check_population_field(units: gpd.GeoDataFrame, pop_field: str, *, allow_missing: bool = False) -> None:
    """Raise unless ``pop_field`` is a column of finite, non-negative numbers (NaN allowed if ``allow_missing``)."""
    if pop_field not in units.columns:
        raise ConfigError(
            f"census has no population column {pop_field!r} (columns: {list(units.columns)})",
            fix="pass --pop-field with the name of the population column",
        )
    values = pd.to_numeric(units[pop_field], errors="coerce").to_numpy(dtype=np.float64)
    bad = (np.isinf(values) | (values < 0)) if allow_missing else ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise ConfigError(
            f"population column {pop_field!r} has {int(bad.sum())} missing, non-numeric or negative value(s)",
            fix="fill them with counts >= 0, drop those units, or pass --skip-missing-pop",
        )


@dataclass
class Allocation:
    """Persons per pixel on a fine grid: the result of pass 1 over the weights."""

    zones: Zones
    transform: Affine
    crs: Any
    width: int
    height: int
    weighting: Weighting
    values: BuildingValues
    tau: float
    weight_total: np.ndarray
    area_total: np.ndarray
    n_pixels: np.ndarray
    method: np.ndarray = field(init=False)
    rate: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        totals = self.zones.totals
        self.method = np.where(
            np.isnan(totals),
            METHOD_MISSING,
            np.where(
                self.weight_total > 0, METHOD_BUILDINGS, np.where(self.area_total > 0, METHOD_AREAL, METHOD_OUTSIDE)
            ),
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            self.rate = np.where(
                self.weight_total > 0,
                totals / self.weight_total,
                np.where(self.area_total > 0, totals / self.area_total, 0.0),
            )

    def weights(self, values: np.ndarray, valid: np.ndarray, window: PixelWindow) -> tuple[np.ndarray, np.ndarray]:
        """``(building weight, pixel area)`` of a window; both 0 on invalid pixels."""
        return pixel_weights(
            values,
            valid,
            window,
            transform=self.transform,
            crs=self.crs,
            weighting=self.weighting,
            kind=self.values,
            tau=self.tau,
        )

    def persons(self, values: np.ndarray, valid: np.ndarray, window: PixelWindow) -> tuple[np.ndarray, np.ndarray]:
        """``(persons per pixel float64, zone id)`` for one window of the building raster."""
        ids = self.zones.ids(window, self.transform, self.crs)
        weight, area = self.weights(values, valid, window)
        inside = ids >= 0
        safe = np.where(inside, ids, 0)
        by_buildings = self.weight_total[safe] > 0
        persons = self.rate[safe] * np.where(by_buildings, weight, area)
        return np.where(inside, persons, 0.0), ids

    def table(self) -> pd.DataFrame:
        """One row per zone: population, weights, pixels, method (``buildings``/``areal``/``outside``)."""
        return pd.DataFrame(
            {
                "pop": self.zones.totals,
                "weight_total": self.weight_total,
                "area_m2": self.area_total,
                "n_pixels": self.n_pixels,
                "method": self.method,
                "rate": self.rate,
                "fallback": self.method != METHOD_BUILDINGS,
            }
        )


def pixel_weights(
    values: np.ndarray,
    valid: np.ndarray,
    window: PixelWindow,
    *,
    transform: Affine,
    crs: Any,
    weighting: Weighting,
    kind: BuildingValues,
    tau: float = defaults.TAU,
) -> tuple[np.ndarray, np.ndarray]:
    """Building weight and pixel area (m²) per pixel; invalid pixels weigh 0."""
    rows = np.arange(window.row_off, window.row_off + window.height)
    area = np.broadcast_to(pixel_area_m2(transform, crs, rows)[:, None], values.shape)
    area = np.where(valid, area, 0.0)
    if kind == "none":  # no building information: areal weighting everywhere
        weight = np.zeros(values.shape)
    elif kind == "mask":
        weight = (values >= tau).astype(np.float64)
    else:
        weight = values.astype(np.float64)
        if np.any(weight[valid] < 0):
            raise ConfigError("building counts must be >= 0", fix="declare the raster's nodata value")
    weight = np.where(valid, weight, 0.0)
    if weighting == "area":
        weight = weight * area
    return weight, area


def check_weights(weighting: str, values: str) -> None:
    """ConfigError unless ``weighting`` is ``pixel``/``area`` and ``values`` ``mask``/``count``/``none``."""
    if weighting not in ("pixel", "area"):
        raise ConfigError(f"weighting must be 'pixel' or 'area', got {weighting!r}", fix="pass --weighting pixel|area")
    if values not in ("mask", "count", "none"):
        raise ConfigError(
            f"building values must be 'mask', 'count' or 'none', got {values!r}", fix="pass --buildings-are mask|count"
        )


def allocate(
    zones: Zones,
    buildings: Any,
    *,
    weighting: Weighting = "pixel",
    values: BuildingValues = "mask",
    tau: float = defaults.TAU,
    window_px: int = 2048,
    transform: Affine | None = None,
    crs: Any = None,
) -> Allocation:
    """Pass 1: sum building weights, pixel areas and pixels per zone over the building raster."""
    check_weights(weighting, values)
    source = as_source(buildings, transform=transform, crs=crs)
    n = zones.totals.size
    weight_total, area_total, n_pixels = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64)
    windows = list(aligned_windows(source.width, source.height, size_px=window_px))
    for window in progress(windows, total=len(windows), description="population pass 1"):
        vals, valid = source.read(window)
        ids = zones.ids(window, source.transform, source.crs)
        weight, area = pixel_weights(
            vals, valid, window, transform=source.transform, crs=source.crs, weighting=weighting, kind=values, tau=tau
        )
        inside = ids >= 0
        weight_total += np.bincount(ids[inside], weight[inside], minlength=n)
        area_total += np.bincount(ids[inside], area[inside], minlength=n)
        n_pixels += np.bincount(ids[inside & valid], minlength=n)
    return Allocation(
        zones,
        source.transform,
        source.crs,
        source.width,
        source.height,
        weighting,
        values,
        tau,
        weight_total,
        area_total,
        n_pixels,
    )


def coarsen_factor(transform: Affine, crs: Any, res_m: float | None) -> int:
    """Whole number of fine pixels per output pixel closest to ``res_m`` (1 = the fine grid itself)."""
    if res_m is None:
        return 1
    if not res_m > 0:
        raise ConfigError(f"output resolution must be > 0 m, got {res_m!r}", fix="pass a positive --res-m")
    return max(1, round(res_m / pixel_size_m(transform, crs)))


class DensityBlock(NamedTuple):
    """One window of pass 2."""

    window: PixelWindow  # in output pixels
    persons: np.ndarray  # persons per output pixel (NaN where no zone)
    zone_sums: np.ndarray  # persons per zone inside this window
    fine_window: PixelWindow  # in fine (building raster) pixels
    zone_ids: np.ndarray  # zone of every fine pixel (-1: none)


def density_blocks(
    allocation: Allocation, buildings: Any, *, factor: int = 1, window_px: int = 2048
) -> Iterator[DensityBlock]:
    """Pass 2, window by window. Output pixels covered by no zone are NaN (unknown), not 0."""
    source = as_source(buildings, transform=allocation.transform, crs=allocation.crs)
    n = allocation.zones.totals.size
    windows = list(aligned_windows(source.width, source.height, size_px=window_px, multiple=factor))
    for window in progress(windows, total=len(windows), description="population pass 2"):
        vals, valid = source.read(window)
        persons, ids = allocation.persons(vals, valid, window)
        inside = ids >= 0
        block = block_sum(persons, factor, dtype=np.float64)
        covered = block_sum(inside, factor)
        block = np.where(covered > 0, block, np.nan)
        out = PixelWindow(window.col_off // factor, window.row_off // factor, block.shape[1], block.shape[0])
        yield DensityBlock(out, block, np.bincount(ids[inside], persons[inside], minlength=n), window, ids)


def output_grid(allocation: Allocation, factor: int) -> tuple[Affine, int, int]:
    """``(transform, width, height)`` of the output grid, ``factor`` fine pixels per output pixel."""
    return (
        allocation.transform @ Affine.scale(factor),
        math.ceil(allocation.width / factor),
        math.ceil(allocation.height / factor),
    )


def density_array(
    allocation: Allocation, buildings: Any, *, res_m: float | None = 30.0, window_px: int = 2048
) -> tuple[np.ndarray, Affine, np.ndarray]:
    """In-memory persons-per-output-pixel raster, its transform, and the persons allocated per zone."""
    factor = coarsen_factor(allocation.transform, allocation.crs, res_m)
    transform, width, height = output_grid(allocation, factor)
    out = np.full((height, width), np.nan, dtype=np.float64)
    allocated = np.zeros(allocation.zones.totals.size)
    for part in density_blocks(allocation, buildings, factor=factor, window_px=window_px):
        out[part.window.row_slice, part.window.col_slice] = part.persons
        allocated += part.zone_sums
    return out, transform, allocated


def write_density(
    allocation: Allocation,
    buildings: Any,
    out_path: Any,
    *,
    res_m: float | None = 30.0,
    window_px: int = 2048,
    zones_path: Any = None,
    overwrite: bool = False,
) -> np.ndarray:
    """Write the persons-per-pixel raster as a float32 COG (NaN nodata); return persons allocated per zone.

    ``zones_path`` also writes the zone of every fine pixel (int32 COG, -1 = none), so
    anyone can check that the density sums back to each zone's count.
    """
    from geovision.io.cog import StreamingCogWriter

    factor = coarsen_factor(allocation.transform, allocation.crs, res_m)
    transform, width, height = output_grid(allocation, factor)
    allocated = np.zeros(allocation.zones.totals.size)
    window_px = max(window_px // factor, 1) * factor
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(
            StreamingCogWriter(
                out_path,
                width=width,
                height=height,
                count=1,
                dtype="float32",
                transform=transform,
                crs=allocation.crs,
                nodata=float("nan"),
                kind="continuous",
                overwrite=overwrite,
            )
        )
        zones_writer = (
            None
            if zones_path is None
            else stack.enter_context(
                StreamingCogWriter(
                    zones_path,
                    width=allocation.width,
                    height=allocation.height,
                    count=1,
                    dtype="int32",
                    transform=allocation.transform,
                    crs=allocation.crs,
                    nodata=-1,
                    kind="mask",
                    overwrite=overwrite,
                )
            )
        )
        for part in density_blocks(allocation, buildings, factor=factor, window_px=window_px):
            writer.write(part.window, part.persons.astype(np.float32))
            if zones_writer is not None:
                zones_writer.write(part.fine_window, part.zone_ids.astype(np.int32))
            allocated += part.zone_sums
    return allocated


def population_raster(
    out_path: Any,
    *,
    census: Any = None,
    pop_field: str = "pop",
    buildings: Any = None,
    buildings_are: BuildingValues = "mask",
    pop_raster: Any = None,
    weighting: Weighting = "pixel",
    res_m: float | None = 30.0,
    skip_missing: bool = False,
    window_px: int = 2048,
    zones_path: Any = None,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Write persons per output pixel (float32 COG) and return the per-zone table with ``allocated``.

    ``census`` (vector file or GeoDataFrame) needs ``buildings``; ``pop_raster`` alone is
    re-gridded (sum-preserving, areal within each of its cells), with ``buildings`` it is
    disaggregated onto them.
    """
    from geovision.impact.sources import FileSource
    from geovision.io.atomic import check_output

    check_output(out_path, overwrite=overwrite)
    if (census is None) == (pop_raster is None):
        raise ConfigError("give exactly one population source: census units or a population raster")
    if census is not None and buildings is None:
        raise ConfigError("census disaggregation needs a building raster", fix="pass --buildings")
    grid = FileSource(buildings if buildings is not None else pop_raster)
    polygons: PolygonZones | None = None  # census units, whose attributes go into the table
    try:
        if census is not None:
            units = (
                census
                if isinstance(census, gpd.GeoDataFrame)
                else read_census(census, pop_field, skip_missing=skip_missing)
            )
            polygons = PolygonZones(units, pop_field=pop_field, crs=grid.crs, skip_missing=skip_missing)
            zones: Zones = polygons
        else:
            from geovision.io.raster import footprint_bounds

            bounds = footprint_bounds(grid.transform, grid.width, grid.height) if buildings is not None else None
            zones = RasterZones(pop_raster, bounds=bounds, bounds_crs=grid.crs)
            buildings_are = buildings_are if buildings is not None else "none"
        allocation = allocate(zones, grid, weighting=weighting, values=buildings_are, window_px=window_px)
        allocated = write_density(
            allocation, grid, out_path, res_m=res_m, window_px=window_px, zones_path=zones_path, overwrite=overwrite
        )
    finally:
        grid.close()
    table = allocation.table()
    table["allocated"] = allocated
    if polygons is not None:
        attributes = pd.DataFrame(polygons.units.drop(columns=polygons.units.geometry.name))
        table = pd.concat(
            [attributes.drop(columns=[c for c in table.columns if c in attributes.columns]), table], axis=1
        )
    return table

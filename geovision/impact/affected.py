"""Affected population: persons in impacted cells and persons in lost buildings, per cell and per zone.

:class:`PersonCounts` is the persons' part of the impact pass (:mod:`geovision.impact.scan`:
windows aligned to the DII cells, the lost pixels the DII's): persons per pixel are a
population :class:`~geovision.impact.population.Allocation`'s rate times the pixel's weight,
summed per cell and zone. Optional bootstrap intervals (``geovision.impact.stats``; method in
docs/impact.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage, sparse

from geovision.errors import ConfigError
from geovision.impact.dii import mean_features
from geovision.impact.grid import n_cells
from geovision.impact.population import Allocation, BuildingValues, Weighting, Zones, check_weights, pixel_weights
from geovision.impact.scan import WINDOW_PX, MaskScan, MaskWindow
from geovision.impact.stats import LEVEL, N_BOOT, model_ci_groups, model_threshold_ci, validation_ci_groups
from geovision.io.grid import Grid

log = logging.getLogger(__name__)

Uncertainty = Literal["model", "validation"]
QUANTITIES = ("persons_lost", "persons_impacted")


@dataclass
class AffectedResult:
    """Per-cell Dataset, per-zone table and totals (``*_low``/``*_high`` when an interval was asked for)."""

    cells: xr.Dataset
    units: pd.DataFrame
    totals: dict[str, float] = field(default_factory=dict)
    buildings: pd.DataFrame | None = None


def _buildings_in_window(
    positive: np.ndarray,
    weight: np.ndarray,
    area: np.ndarray,
    p_lost: np.ndarray,
    cell: np.ndarray,
    ids: np.ndarray,
    *,
    n_zones: int,
    offset: int,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Connected building pixels with persons in a window: mean loss probability, pixels, cell and zone
    per building; its weights and areas per zone (its persons once the rates are known); the count."""
    labels, count = ndimage.label(positive)
    if count == 0:
        empty = pd.DataFrame(columns=["building", "zone", "weight", "area"])
        return pd.DataFrame(columns=["building", "p_lost", "pixels", "cell", "zone"]), empty, 0
    on = labels > 0
    lab = labels[on] - 1
    n_px = np.bincount(lab, minlength=count)
    index = np.arange(1, count + 1)
    frame = pd.DataFrame(
        {
            "building": np.arange(count) + offset,
            "p_lost": np.bincount(lab, p_lost[on], minlength=count) / n_px,
            "pixels": n_px,
            "cell": ndimage.maximum(cell, labels, index).astype(np.int64),
            "zone": ndimage.maximum(ids, labels, index).astype(np.int64),
        }
    )
    key, inverse = np.unique(lab.astype(np.int64) * n_zones + ids[on], return_inverse=True)
    shares = pd.DataFrame(
        {
            "building": key // n_zones + offset,
            "zone": key % n_zones,
            "weight": np.bincount(inverse, weight[on]),
            "area": np.bincount(inverse, area[on]),
        }
    )
    return frame, shares, count


def _pieces_in_window(
    before: np.ndarray, p_lost: np.ndarray, cell: np.ndarray, *, n_cells_total: int, offset: int
) -> tuple[pd.DataFrame, int]:
    """Every building of a window (with or without persons) split by cell: building id, its mean loss
    probability, cell and pixels there; and the number of buildings (ids start at ``offset``)."""
    labels, count = ndimage.label(before)
    if count == 0:
        return pd.DataFrame(columns=["building", "p_lost", "cell", "pixels"]), 0
    on = labels > 0
    lab = labels[on] - 1
    p_mean = np.bincount(lab, p_lost[on]) / np.bincount(lab, minlength=count)
    key, pixels = np.unique(lab.astype(np.int64) * n_cells_total + cell[on], return_counts=True)
    building = key // n_cells_total
    return pd.DataFrame(
        {"building": building + offset, "p_lost": p_mean[building], "cell": key % n_cells_total, "pixels": pixels}
    ), count


class PersonCounts:
    """Persons' part of the impact pass: building weights and pixel areas per (cell, zone), all and lost.

    Persons per pixel are a zone's rate times the pixel's weight (or area), so the pass sums
    weights and areas per cell and zone, and the rates apply afterwards: those of ``allocation``
    when given, else of the allocation built from the same sums (pass 1 of
    :func:`~geovision.impact.population.allocate`, on the pre mask, in the same windows).
    ``model``: also each building's loss probability for the model intervals.
    """

    def __init__(
        self,
        zones: Zones,
        grid: Grid,
        cell_px: int,
        *,
        weighting: Weighting = "pixel",
        values: BuildingValues = "mask",
        tau: float = 0.5,
        allocation: Allocation | None = None,
        model: bool = False,
    ):
        check_weights(weighting, values)
        if allocation is not None:
            zones, weighting, values, tau = allocation.zones, allocation.weighting, allocation.values, allocation.tau
            grid = Grid(allocation.crs, allocation.transform, allocation.width, allocation.height)
        self.zones, self.grid, self.cell_px = zones, grid, cell_px
        self.weighting, self.values, self.tau = weighting, values, tau
        self.allocation, self.model = allocation, model
        self.n_zones = zones.totals.size
        self.shape = (n_cells(grid.height, cell_px), n_cells(grid.width, cell_px))
        self.weight_total, self.area_total = np.zeros(self.n_zones), np.zeros(self.n_zones)
        self.n_pixels = np.zeros(self.n_zones, dtype=np.int64)
        self.pairs: list[pd.DataFrame] = []
        self.records: list[pd.DataFrame] = []
        self.shares: list[pd.DataFrame] = []
        self.pieces: list[pd.DataFrame] = []
        self.n_buildings = self.n_pieces = 0

    def add(self, window: MaskWindow) -> None:
        crop, n = window.crop, self.n_zones
        b_vals, b_ok = window.building_values()
        ids = self.zones.ids(crop, self.grid.transform, self.grid.crs)
        weight, area = pixel_weights(
            b_vals,
            b_ok,
            crop,
            transform=self.grid.transform,
            crs=self.grid.crs,
            weighting=self.weighting,
            kind=self.values,
            tau=self.tau,
        )
        inside = ids >= 0
        self.weight_total += np.bincount(ids[inside], weight[inside], minlength=n)
        self.area_total += np.bincount(ids[inside], area[inside], minlength=n)
        self.n_pixels += np.bincount(ids[inside & b_ok], minlength=n)
        lost = window.inner(window.lost)
        rows = (crop.row_off + np.arange(crop.height)) // self.cell_px
        cols = (crop.col_off + np.arange(crop.width)) // self.cell_px
        cell = rows[:, None] * self.shape[1] + cols[None, :]
        key, inverse = np.unique(cell[inside] * n + ids[inside], return_inverse=True)
        sums = {
            name: np.bincount(inverse, part[inside])
            for name, part in (
                ("weight", weight),
                ("area", area),
                ("weight_lost", weight * lost),
                ("area_lost", area * lost),
            )
        }
        self.pairs.append(pd.DataFrame({"cell": key // n, "zone": key % n, **sums}))
        if self.model:
            self._add_buildings(window, weight, area, cell, ids)

    def _add_buildings(
        self, window: MaskWindow, weight: np.ndarray, area: np.ndarray, cell: np.ndarray, ids: np.ndarray
    ) -> None:
        """Each building's loss probability ``1 - p_post`` (the post probability within the tolerance)."""
        before = window.inner(window.before)
        post_prob = np.clip(np.where(window.post_ok & window.pre_ok, window.post, 0.0), 0.0, 1.0).astype(np.float64)
        p_lost = 1.0 - window.inner(_max_filter(post_prob, window.tolerance_px))
        frame, shares, count = _buildings_in_window(
            before & self._has_persons(ids, weight, area),
            weight,
            area,
            p_lost,
            cell,
            ids,
            n_zones=self.n_zones,
            offset=self.n_buildings,
        )
        self.records.append(frame)
        self.shares.append(shares)
        self.n_buildings += count
        pieces, count = _pieces_in_window(
            before, p_lost, cell, n_cells_total=self.shape[0] * self.shape[1], offset=self.n_pieces
        )
        self.pieces.append(pieces)
        self.n_pieces += count

    def _has_persons(self, ids: np.ndarray, weight: np.ndarray, area: np.ndarray) -> np.ndarray:
        """Pixels whose persons are > 0: known from the rates of a given allocation; else (rates after
        the pass) a zone with a count > 0 and a pixel of weight > 0 (which makes the zone's weight > 0)."""
        inside = ids >= 0
        safe = np.where(inside, ids, 0)
        if self.allocation is not None:
            share = np.where(self.allocation.weight_total[safe] > 0, weight, area)
            return inside & (self.allocation.rate[safe] * share > 0)
        return inside & (weight > 0) & (self.zones.totals[safe] > 0)

    def allocation_from_sums(self) -> Allocation:
        """The allocation (rates per zone) of the summed weights: the one given, else pass 1's result."""
        if self.allocation is not None:
            return self.allocation
        return Allocation(
            self.zones,
            self.grid.transform,
            self.grid.crs,
            self.grid.width,
            self.grid.height,
            self.weighting,
            self.values,
            self.tau,
            self.weight_total,
            self.area_total,
            self.n_pixels,
        )

    def result(
        self,
        dii: xr.Dataset,
        *,
        uncertainty: Uncertainty | None = None,
        validation: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
        n_boot: int = N_BOOT,
        level: float = LEVEL,
        seed: int = 0,
        theta: float | None = None,
    ) -> AffectedResult:
        """Persons per cell and zone (and intervals) after the pass; ``dii`` as for :func:`affected_population`."""
        allocation = self.allocation_from_sums()
        pair = _persons(_concat(self.pairs, ["cell", "zone", "weight", "area", "weight_lost", "area_lost"]), allocation)
        size = self.shape[0] * self.shape[1]
        cell = pair["cell"].to_numpy(dtype=np.int64)
        persons_cell = np.bincount(cell, pair["persons"].to_numpy(float), minlength=size).reshape(self.shape)
        lost_cell = np.bincount(cell, pair["persons_lost"].to_numpy(float), minlength=size).reshape(self.shape)
        buildings = None
        if self.model and self.records:
            buildings = _concat(self.records, ["building", "p_lost", "pixels", "cell", "zone"])
            persons = _persons(_concat(self.shares, ["building", "zone", "weight", "area"]), allocation)
            per_building = np.bincount(
                persons["building"].to_numpy(np.int64), persons["persons"].to_numpy(float), minlength=self.n_buildings
            )
            buildings.insert(0, "persons", per_building[buildings["building"].to_numpy(np.int64)])
            buildings = buildings.drop(columns="building")
        return _assemble(
            dii,
            persons_cell,
            lost_cell,
            pair[["cell", "zone", "persons", "persons_lost"]],
            buildings,
            self.n_zones,
            uncertainty,
            validation,
            n_boot=n_boot,
            level=level,
            seed=seed,
            pieces=_concat(self.pieces, ["building", "p_lost", "cell", "pixels"]),
            theta=theta,
        )


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _persons(frame: pd.DataFrame, allocation: Allocation) -> pd.DataFrame:
    """``persons`` (and ``persons_lost``) of rows of summed ``weight``/``area`` per zone: rate x weight,
    or rate x area in a zone with no building weight (areal fallback), as :meth:`Allocation.persons`."""
    zone = frame["zone"].to_numpy(dtype=np.int64)
    rate, by_buildings = allocation.rate[zone], allocation.weight_total[zone] > 0
    frame = frame.copy()
    frame["persons"] = rate * np.where(by_buildings, frame["weight"].to_numpy(float), frame["area"].to_numpy(float))
    if "weight_lost" in frame:
        lost = np.where(by_buildings, frame["weight_lost"].to_numpy(float), frame["area_lost"].to_numpy(float))
        frame["persons_lost"] = rate * lost
    return frame


def affected_population(
    pre: Any,
    post: Any,
    allocation: Allocation,
    dii: xr.Dataset,
    *,
    valid: Any = None,
    buildings: Any = None,
    tau: float | None = None,
    tolerance_px: int | None = None,
    window_px: int = WINDOW_PX,
    uncertainty: Uncertainty | None = None,
    validation: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    seed: int = 0,
    theta: float | None = None,
) -> AffectedResult:
    """Persons in lost buildings and in impacted cells, per DII cell and per population zone.

    ``dii`` is the grid from :func:`compute_dii_grid` with an ``impacted`` variable
    (:func:`flag_impacted`); ``tau``/``tolerance_px`` default to the ones it was built
    with. Persons come from ``allocation`` evaluated on ``buildings`` (default: the
    pre mask), which must share the masks' grid. ``uncertainty="model"`` needs
    probability masks and simulates each building's loss with probability
    ``1 - p_post`` (binary masks reduce that to each building's lost share), for
    persons lost and, through the simulated DII at ``theta`` (default: ``dii.attrs["theta"]``),
    persons in impacted cells; ``"validation"`` needs ``validation[q] = (pred, true)`` per-cell
    arrays from a labelled area for each quantity ``q`` in ``persons_lost``/``persons_impacted``.
    One pass of :class:`~geovision.impact.scan.MaskScan` (:class:`PersonCounts`).
    """
    if "impacted" not in dii:
        raise ConfigError("the DII grid has no 'impacted' cells", fix="add them with flag_impacted(ds, theta)")
    check_uncertainty(uncertainty, validation)
    tau = float(dii.attrs.get("tau", 0.5)) if tau is None else tau
    tolerance_px = int(dii.attrs.get("tolerance_px", 0)) if tolerance_px is None else tolerance_px
    cell_px = int(dii.attrs["cell_px"])
    with MaskScan(pre, post, valid=valid, buildings=buildings) as scan:
        if (allocation.width, allocation.height) != (scan.grid.width, scan.grid.height):
            raise ConfigError(
                "the population allocation is on another grid than the masks",
                fix="build it with allocate(zones, buildings=<mask on the masks' grid>)",
            )
        counts = PersonCounts(allocation.zones, scan.grid, cell_px, allocation=allocation, model=uncertainty == "model")
        if counts.shape != dii["impacted"].shape:
            raise ConfigError(
                f"DII grid {dii['impacted'].shape} does not match the masks ({counts.shape} cells of {cell_px} px)",
                fix="compute the DII grid from these masks",
            )
        scan.run(
            [counts],
            tau=tau,
            tolerance_px=tolerance_px,
            cell_px=cell_px,
            window_px=window_px,
            description="affected population",
        )
    return counts.result(
        dii, uncertainty=uncertainty, validation=validation, n_boot=n_boot, level=level, seed=seed, theta=theta
    )


def check_uncertainty(uncertainty: Uncertainty | None, validation: dict | None) -> None:
    """ConfigError unless ``uncertainty`` is None, ``model`` or ``validation`` (with a validation sample)."""
    if uncertainty not in (None, "model", "validation"):
        raise ConfigError(f"uncertainty must be 'model' or 'validation', got {uncertainty!r}")
    if uncertainty == "validation" and not validation:
        raise ConfigError(
            "validation intervals need a validation sample",
            fix="pass validation={'persons_lost': (pred_per_cell, true_per_cell)}",
        )


def _max_filter(values: np.ndarray, radius_px: int) -> np.ndarray:
    """Grey dilation by a disk (the post probability within the misregistration tolerance)."""
    if radius_px <= 0:
        return values
    from skimage.morphology import disk

    return ndimage.maximum_filter(values, footprint=disk(radius_px).astype(bool))


def _assemble(
    dii: xr.Dataset,
    persons_cell: np.ndarray,
    lost_cell: np.ndarray,
    pair: pd.DataFrame,
    buildings: pd.DataFrame | None,
    n_zones: int,
    uncertainty: Uncertainty | None,
    validation: dict | None,
    *,
    n_boot: int,
    level: float,
    seed: int,
    pieces: pd.DataFrame,
    theta: float | None = None,
) -> AffectedResult:
    impacted = np.nan_to_num(dii["impacted"].to_numpy(), nan=0.0) > 0
    cells = xr.Dataset(
        {
            "persons": (("y", "x"), persons_cell),
            "persons_lost": (("y", "x"), lost_cell),
            "persons_impacted": (("y", "x"), np.where(impacted, persons_cell, 0.0)),
        },
        coords={"y": dii["y"], "x": dii["x"]},
        attrs=dict(dii.attrs),
    )
    pair = pair.copy()
    pair["persons_impacted"] = np.where(impacted.ravel()[pair["cell"].to_numpy(dtype=np.int64)], pair["persons"], 0.0)
    units = pair.groupby("zone")[["persons", "persons_lost", "persons_impacted"]].sum()
    units = units.reindex(np.arange(n_zones), fill_value=0.0)
    units.index.name = "zone"
    totals = {q: float(cells[q].sum()) for q in ("persons",) + QUANTITIES}
    if uncertainty == "model" and buildings is not None:
        _model_intervals(cells, units, totals, buildings, n_zones, n_boot=n_boot, level=level, seed=seed)
        _impacted_intervals(
            dii,
            cells,
            units,
            totals,
            pair,
            pieces,
            n_zones,
            theta=theta,
            n_boot=n_boot,
            level=level,
            seed=seed,
        )
    if uncertainty == "validation" and validation is not None:  # affected_population checked it is given
        _validation_intervals(cells, units, totals, validation, n_boot=n_boot, level=level, seed=seed)
    return AffectedResult(cells, units.reset_index(), totals, buildings)


def _model_intervals(
    cells: xr.Dataset,
    units: pd.DataFrame,
    totals: dict,
    buildings: pd.DataFrame,
    n_zones: int,
    *,
    n_boot: int,
    level: float,
    seed: int,
) -> None:
    persons, p_lost = buildings["persons"].to_numpy(), buildings["p_lost"].to_numpy()
    shape = cells["persons"].shape
    kwargs: dict[str, Any] = {"n_boot": n_boot, "level": level, "seed": seed}
    est, low, high = model_ci_groups(
        persons, p_lost, buildings["cell"].to_numpy(), n_groups=shape[0] * shape[1], **kwargs
    )
    for name, values in (("expected", est), ("low", low), ("high", high)):
        cells[f"persons_lost_{name}"] = (("y", "x"), values.reshape(shape))
    zone = buildings["zone"].to_numpy()
    keep = zone >= 0
    est, low, high = model_ci_groups(persons[keep], p_lost[keep], zone[keep], n_groups=n_zones, **kwargs)
    units["persons_lost_expected"], units["persons_lost_low"], units["persons_lost_high"] = est, low, high
    est, low, high = model_ci_groups(persons, p_lost, None, n_groups=1, **kwargs)
    totals.update(
        persons_lost_expected=float(est[0]),
        persons_lost_low=float(low[0]),
        persons_lost_high=float(high[0]),
        interval_method="model",
        interval_level=level,
    )


def _mean_f(dii: xr.Dataset) -> float:
    """The DII denominator: the stored ``mean_f``, else recomputed (:func:`~geovision.impact.dii.mean_features`)."""
    if "mean_f" in dii:
        return float(dii["mean_f"])
    return float(
        mean_features(dii["f"].to_numpy(), dii["cell_valid"].to_numpy().astype(bool), dii.attrs.get("mean_over", "all"))
    )


def _impact_theta(dii: xr.Dataset, theta: float | None) -> float:
    """``theta`` given, else the grid's ``theta`` attribute, else the smallest DII of an impacted cell
    (which reproduces the grid's flags; logged as a warning)."""
    if theta is not None:
        return float(theta)
    if "theta" in dii["impacted"].attrs:
        return float(dii["impacted"].attrs["theta"])
    if "theta" in dii.attrs:
        return float(dii.attrs["theta"])
    values = dii["dii"].to_numpy().astype(np.float32)
    flags = np.nan_to_num(dii["impacted"].to_numpy(), nan=0.0) > 0
    defined = np.isfinite(values)
    if (flags & defined).any():
        inferred = float(values[flags & defined].min())
    elif defined.any():
        inferred = float(np.nextafter(values[defined].max(), np.float32(np.inf)))
    else:
        inferred = float("inf")
    log.warning(
        "the DII grid does not record theta; using %g, the smallest DII of its impacted cells "
        "(pass theta= or set dii.attrs['theta'])",
        inferred,
    )
    return inferred


def _impacted_intervals(
    dii: xr.Dataset,
    cells: xr.Dataset,
    units: pd.DataFrame,
    totals: dict,
    pair: pd.DataFrame,
    pieces: pd.DataFrame,
    n_zones: int,
    *,
    theta: float | None,
    n_boot: int,
    level: float,
    seed: int,
) -> None:
    """Model interval of persons in impacted cells: each draw's building losses give lost pixels per
    cell, ``DII* = c* / mean_f`` and the cells with ``DII* >= theta`` (docs/impact.md)."""
    theta, mean_f = _impact_theta(dii, theta), _mean_f(dii)
    shape = cells["persons"].shape
    persons_cell = cells["persons"].to_numpy().ravel()
    defined = np.isfinite(dii["dii"].to_numpy()).ravel()
    relevant = np.flatnonzero(defined & (persons_cell > 0))  # the cells whose flag moves persons
    index = np.full(persons_cell.size, -1, dtype=np.int64)
    index[relevant] = np.arange(relevant.size)
    rel = index[pieces["cell"].to_numpy(dtype=np.int64)]
    keep = rel >= 0
    building, inverse = np.unique(pieces["building"].to_numpy(dtype=np.int64)[keep], return_inverse=True)
    p_lost = np.zeros(building.size)
    p_lost[inverse] = pieces["p_lost"].to_numpy(dtype=np.float64)[keep]
    pixels = sparse.csr_matrix(
        (pieces["pixels"].to_numpy(dtype=np.float64)[keep], (inverse, rel[keep])), shape=(building.size, relevant.size)
    )
    pair_rel = index[pair["cell"].to_numpy(dtype=np.int64)]
    inside = pair_rel >= 0
    groups = sparse.csr_matrix(
        (
            pair["persons"].to_numpy(dtype=np.float64)[inside],
            (pair_rel[inside], pair["zone"].to_numpy(dtype=np.int64)[inside]),
        ),
        shape=(relevant.size, n_zones),
    )

    def impacted(lost_px: np.ndarray) -> np.ndarray:
        return (lost_px / mean_f).astype(np.float32) >= theta  # as flag_impacted on the float32 DII

    sims = model_threshold_ci(
        p_lost, pixels, impacted, persons_cell[relevant], groups, n_boot=n_boot, level=level, seed=seed + 1
    )
    for name, values in zip(("expected", "low", "high"), sims["cells"], strict=True):
        grid = np.zeros(persons_cell.size)
        grid[relevant] = values
        cells[f"persons_impacted_{name}"] = (("y", "x"), grid.reshape(shape))
    for name, values in zip(("expected", "low", "high"), sims["groups"], strict=True):
        units[f"persons_impacted_{name}"] = values
    totals.update(
        {
            f"persons_impacted_{name}": float(values[0])
            for name, values in zip(("expected", "low", "high"), sims["total"], strict=True)
        }
    )
    totals["interval_theta"] = theta if np.isfinite(theta) else None


def _validation_intervals(
    cells: xr.Dataset, units: pd.DataFrame, totals: dict, validation: dict, *, n_boot: int, level: float, seed: int
) -> None:
    unknown = set(validation) - set(QUANTITIES)
    if unknown:
        raise ConfigError(f"validation sample for unknown quantity {sorted(unknown)}", fix=f"use {QUANTITIES}")
    kwargs: dict[str, Any] = {"n_boot": n_boot, "level": level, "seed": seed}
    for quantity, (pred, true) in validation.items():
        est, low, high = validation_ci_groups(cells[quantity].to_numpy(), pred, true, **kwargs)
        for name, values in (("calibrated", est), ("low", low), ("high", high)):
            cells[f"{quantity}_{name}"] = (("y", "x"), values)
        est, low, high = validation_ci_groups(units[quantity].to_numpy(), pred, true, **kwargs)
        units[f"{quantity}_calibrated"], units[f"{quantity}_low"], units[f"{quantity}_high"] = est, low, high
        est, low, high = validation_ci_groups(np.array([totals[quantity]]), pred, true, **kwargs)
        totals.update(
            {
                f"{quantity}_calibrated": float(est[0]),
                f"{quantity}_low": float(low[0]),
                f"{quantity}_high": float(high[0]),
            }
        )
    totals.update(interval_method="validation", interval_level=level)


def validation_sample(
    predicted: AffectedResult,
    truth: AffectedResult,
    quantity: str = "persons_lost",
    *,
    defined: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell ``(pred, true)`` arrays of ``quantity`` from a labelled area, for validation intervals."""
    pred = predicted.cells[quantity].to_numpy().ravel()
    true = truth.cells[quantity].to_numpy().ravel()
    if pred.shape != true.shape:
        raise ConfigError("predicted and true results are on different grids")
    keep = np.isfinite(pred) & np.isfinite(true)
    if defined is not None:
        keep &= np.asarray(defined, dtype=bool).ravel()
    return pred[keep], true[keep]

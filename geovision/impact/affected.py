"""Affected population: persons in impacted cells and persons in lost buildings, per cell and per zone.

One pass over the masks, window by window (windows aligned to the DII cells):
persons per pixel come from a population :class:`~geovision.impact.population.Allocation`
on the same grid; ``lost`` pixels are computed exactly as for the DII. Optional
bootstrap intervals (``geovision.impact.stats``; method in docs/impact.md).
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
from geovision.impact.dii import lost_pixels, mean_features
from geovision.impact.grid import block_sum, n_cells
from geovision.impact.population import Allocation
from geovision.impact.sources import aligned_windows, as_source, same_grid
from geovision.impact.stats import LEVEL, N_BOOT, model_ci_groups, model_threshold_ci, validation_ci_groups
from geovision.progress import progress
from geovision.types import PixelWindow

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


def _pad(window: PixelWindow, halo: int) -> PixelWindow:
    return PixelWindow(window.col_off - halo, window.row_off - halo, window.width + 2 * halo, window.height + 2 * halo)


def _crop(array: np.ndarray, halo: int) -> np.ndarray:
    return array[halo : array.shape[0] - halo, halo : array.shape[1] - halo] if halo else array


def _buildings_in_window(
    before: np.ndarray, persons: np.ndarray, p_lost: np.ndarray, cell: np.ndarray, ids: np.ndarray
) -> pd.DataFrame:
    """Connected building pixels of a window: persons, mean loss probability, pixels, cell and zone."""
    labels, count = ndimage.label(before)
    if count == 0:
        return pd.DataFrame(columns=["persons", "p_lost", "pixels", "cell", "zone"])
    on = labels > 0
    lab = labels[on] - 1
    n_px = np.bincount(lab, minlength=count)
    frame = pd.DataFrame(
        {
            "persons": np.bincount(lab, persons[on], minlength=count),
            "p_lost": np.bincount(lab, p_lost[on], minlength=count) / n_px,
            "pixels": n_px,
            "cell": ndimage.maximum(cell, labels, np.arange(1, count + 1)).astype(np.int64),
            "zone": ndimage.maximum(ids, labels, np.arange(1, count + 1)).astype(np.int64),
        }
    )
    return frame


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
    p_mean = np.bincount(lab, p_lost[on], minlength=count) / np.bincount(lab, minlength=count)
    key, pixels = np.unique(lab.astype(np.int64) * n_cells_total + cell[on], return_counts=True)
    building = key // n_cells_total
    return pd.DataFrame(
        {"building": building + offset, "p_lost": p_mean[building], "cell": key % n_cells_total, "pixels": pixels}
    ), count


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
    window_px: int = 2048,
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
    """
    if "impacted" not in dii:
        raise ConfigError("the DII grid has no 'impacted' cells", fix="add them with flag_impacted(ds, theta)")
    if uncertainty not in (None, "model", "validation"):
        raise ConfigError(f"uncertainty must be 'model' or 'validation', got {uncertainty!r}")
    if uncertainty == "validation" and not validation:
        raise ConfigError(
            "validation intervals need a validation sample",
            fix="pass validation={'persons_lost': (pred_per_cell, true_per_cell)}",
        )
    tau = float(dii.attrs.get("tau", 0.5)) if tau is None else tau
    tolerance_px = int(dii.attrs.get("tolerance_px", 0)) if tolerance_px is None else tolerance_px
    cell_px = int(dii.attrs["cell_px"])
    pre_s, post_s = as_source(pre), as_source(post)
    same_grid(pre_s, post_s)
    build_s = pre_s if buildings is None else as_source(buildings)
    same_grid(pre_s, build_s, names=("pre", "buildings"))
    valid_s = None if valid is None else as_source(valid)
    if (allocation.width, allocation.height) != (pre_s.width, pre_s.height):
        raise ConfigError(
            "the population allocation is on another grid than the masks",
            fix="build it with allocate(zones, buildings=<mask on the masks' grid>)",
        )
    grid_shape = (n_cells(pre_s.height, cell_px), n_cells(pre_s.width, cell_px))
    if grid_shape != dii["impacted"].shape:
        raise ConfigError(
            f"DII grid {dii['impacted'].shape} does not match the masks ({grid_shape} cells of {cell_px} px)",
            fix="compute the DII grid from these masks",
        )
    n_zones = allocation.zones.totals.size
    persons_cell = np.zeros(grid_shape)
    lost_cell = np.zeros(grid_shape)
    pairs, records, pieces, n_buildings = [], [], [], 0
    windows = list(aligned_windows(pre_s.width, pre_s.height, size_px=window_px, multiple=cell_px))
    for window in progress(windows, total=len(windows), description="affected population"):
        padded = _pad(window, tolerance_px)
        pre_v, pre_ok = pre_s.read(padded)
        post_v, post_ok = post_s.read(padded)
        ok = pre_ok & post_ok
        if valid_s is not None:
            valid_v, valid_ok = valid_s.read(padded)
            ok &= valid_ok & (valid_v > 0)
        before, lost, ok = (
            _crop(a, tolerance_px) for a in lost_pixels(pre_v, post_v, valid=ok, tau=tau, tolerance_px=tolerance_px)
        )
        b_vals, b_ok = build_s.read(window)
        persons, ids = allocation.persons(b_vals, b_ok, window)
        rows = (window.row_off + np.arange(window.height)) // cell_px
        cols = (window.col_off + np.arange(window.width)) // cell_px
        cell = rows[:, None] * grid_shape[1] + cols[None, :]
        r0, c0 = window.row_off // cell_px, window.col_off // cell_px
        block = block_sum(persons, cell_px, dtype=np.float64)
        persons_cell[r0 : r0 + block.shape[0], c0 : c0 + block.shape[1]] = block
        lost_cell[r0 : r0 + block.shape[0], c0 : c0 + block.shape[1]] = block_sum(
            persons * lost, cell_px, dtype=np.float64
        )
        inside = ids >= 0
        key = cell[inside] * n_zones + ids[inside]
        uniq, inverse = np.unique(key, return_inverse=True)
        pairs.append(
            pd.DataFrame(
                {
                    "cell": uniq // n_zones,
                    "zone": uniq % n_zones,
                    "persons": np.bincount(inverse, persons[inside]),
                    "persons_lost": np.bincount(inverse, (persons * lost)[inside]),
                }
            )
        )
        if uncertainty == "model":
            post_prob = np.clip(np.where(post_ok & pre_ok, post_v, 0.0), 0.0, 1.0).astype(np.float64)
            p_post = _crop(_max_filter(post_prob, tolerance_px), tolerance_px)
            records.append(_buildings_in_window(before & (persons > 0), persons, 1.0 - p_post, cell, ids))
            frame, count = _pieces_in_window(
                before, 1.0 - p_post, cell, n_cells_total=persons_cell.size, offset=n_buildings
            )
            pieces.append(frame)
            n_buildings += count
    return _assemble(
        dii,
        persons_cell,
        lost_cell,
        pairs,
        records,
        n_zones,
        uncertainty,
        validation,
        n_boot=n_boot,
        level=level,
        seed=seed,
        pieces=pieces,
        theta=theta,
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
    pairs: list[pd.DataFrame],
    records: list[pd.DataFrame],
    n_zones: int,
    uncertainty: Uncertainty | None,
    validation: dict | None,
    *,
    n_boot: int,
    level: float,
    seed: int,
    pieces: list[pd.DataFrame],
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
    pair = (
        pd.concat(pairs, ignore_index=True)
        if pairs
        else pd.DataFrame(columns=["cell", "zone", "persons", "persons_lost"])
    )
    pair["persons_impacted"] = np.where(impacted.ravel()[pair["cell"].to_numpy(dtype=np.int64)], pair["persons"], 0.0)
    units = pair.groupby("zone")[["persons", "persons_lost", "persons_impacted"]].sum()
    units = units.reindex(np.arange(n_zones), fill_value=0.0)
    units.index.name = "zone"
    totals = {q: float(cells[q].sum()) for q in ("persons",) + QUANTITIES}
    buildings = pd.concat(records, ignore_index=True) if records else None
    if uncertainty == "model" and buildings is not None:
        _model_intervals(cells, units, totals, buildings, n_zones, n_boot=n_boot, level=level, seed=seed)
        _impacted_intervals(
            dii,
            cells,
            units,
            totals,
            pair,
            pd.concat(pieces, ignore_index=True),
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

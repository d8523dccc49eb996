"""Bootstrap confidence intervals for affected-population totals (method: docs/impact.md).

Two sources of uncertainty:

* ``validation``: a labelled sample of cells gives predicted and true affected
  persons per cell; the calibration ratio ``R = sum(true) / sum(pred)`` corrects
  the prediction, and resampling the cells with replacement gives the
  percentile interval of ``R`` and so of every corrected total.
* ``model``: per-building loss probabilities from the model; each building is
  lost independently with its probability (a parametric bootstrap), and the
  percentile interval of the simulated totals is reported. The same draws can
  also be thresholded per cell (``model_threshold_ci``: persons in impacted cells).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from scipy import sparse

from geovision.errors import ConfigError

N_BOOT = 2000
LEVEL = 0.95
_CHUNK = 64  # bootstrap replicates simulated at once (bounds memory)
_BUDGET = 1 << 22  # array elements per chunk of simulated draws in model_threshold_ci (bounds memory)


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap percentile interval."""

    estimate: float
    low: float
    high: float
    level: float
    method: str
    n_boot: int

    def as_dict(self) -> dict:
        return asdict(self)


def _check(n_boot: int, level: float) -> tuple[float, float]:
    if n_boot < 100:
        raise ConfigError(f"n_boot must be >= 100 for a percentile interval, got {n_boot}", fix="use e.g. 2000")
    if not 0 < level < 1:
        raise ConfigError(f"confidence level must be in (0, 1), got {level}", fix="use e.g. 0.95")
    tail = (1 - level) / 2
    return 100 * tail, 100 * (1 - tail)


def bootstrap_ratios(pred: np.ndarray, true: np.ndarray, *, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """``n_boot`` resampled calibration ratios ``sum(true) / sum(pred)`` over validation cells."""
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape or pred.ndim != 1 or pred.size < 2:
        raise ConfigError("validation sample needs two 1-D arrays of equal length >= 2 (predicted, true per cell)")
    if not np.all(np.isfinite(pred)) or not np.all(np.isfinite(true)):
        raise ConfigError("validation sample has NaN or infinite values", fix="drop cells without data first")
    if pred.sum() <= 0:
        raise ConfigError(
            "validation cells have no predicted affected persons, so no ratio can be estimated",
            fix="use a validation area where the model predicts losses",
        )
    rng = np.random.default_rng(seed)
    ratios = np.empty(n_boot)
    for start in range(0, n_boot, _CHUNK):
        stop = min(start + _CHUNK, n_boot)
        idx = rng.integers(0, pred.size, size=(stop - start, pred.size))
        p, t = pred[idx].sum(axis=1), true[idx].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios[start:stop] = np.where(p > 0, t / p, np.nan)
    return ratios[np.isfinite(ratios)]


def validation_ci_groups(
    pred_groups: np.ndarray,
    pred: np.ndarray,
    true: np.ndarray,
    *,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(estimate, low, high)`` for many predicted totals (cells, units) with one shared ratio."""
    lo, hi = _check(n_boot, level)
    ratios = bootstrap_ratios(pred, true, n_boot=n_boot, seed=seed)
    ratio = float(np.sum(true) / np.sum(pred))
    r_lo, r_hi = np.percentile(ratios, [lo, hi])
    pred_groups = np.asarray(pred_groups, dtype=np.float64)
    return ratio * pred_groups, r_lo * pred_groups, r_hi * pred_groups


def validation_ci(
    total_pred: float, pred: np.ndarray, true: np.ndarray, *, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0
) -> Interval:
    """Calibrated total and its interval from a validation sample of (predicted, true) per cell."""
    estimate, low, high = validation_ci_groups(
        np.array([total_pred]), pred, true, n_boot=n_boot, level=level, seed=seed
    )
    return Interval(float(estimate[0]), float(low[0]), float(high[0]), level, "validation", n_boot)


def model_ci_groups(
    persons: np.ndarray,
    p_lost: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    n_groups: int | None = None,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(expected, low, high)`` persons lost per group, each building lost with probability ``p_lost``.

    ``persons`` and ``p_lost`` are per building; ``groups`` (int, default one group)
    says which cell or unit each building belongs to.
    """
    lo, hi = _check(n_boot, level)
    persons, p_lost = np.asarray(persons, dtype=np.float64), np.asarray(p_lost, dtype=np.float64)
    if persons.shape != p_lost.shape:
        raise ConfigError("persons and p_lost must have one value per building")
    if np.any((p_lost < 0) | (p_lost > 1)):
        raise ConfigError("loss probabilities must lie in [0, 1]")
    groups = np.zeros(persons.size, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    n_groups = int(groups.max() + 1 if groups.size else 1) if n_groups is None else n_groups
    rng = np.random.default_rng(seed)
    sims = np.empty((n_boot, n_groups))
    flat = groups[None, :] + n_groups * np.arange(_CHUNK)[:, None]
    for start in range(0, n_boot, _CHUNK):
        stop = min(start + _CHUNK, n_boot)
        lost = rng.random((stop - start, persons.size)) < p_lost
        sums = np.bincount(flat[: stop - start].ravel(), (lost * persons).ravel(), minlength=(stop - start) * n_groups)
        sims[start:stop] = sums.reshape(stop - start, n_groups)
    expected = np.bincount(groups, persons * p_lost, minlength=n_groups)
    low, high = np.percentile(sims, [lo, hi], axis=0)
    return expected, low, high


def model_ci(
    persons: np.ndarray, p_lost: np.ndarray, *, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0
) -> Interval:
    """Expected persons lost and its interval when each building is lost with its probability."""
    expected, low, high = model_ci_groups(persons, p_lost, None, n_groups=1, n_boot=n_boot, level=level, seed=seed)
    return Interval(float(expected[0]), float(low[0]), float(high[0]), level, "model", n_boot)


def bernoulli_percentile(count: np.ndarray, n: int, q: float) -> np.ndarray:
    """``np.percentile(sample, q)`` (linear) of ``n`` draws of which ``count`` are 1 and the rest 0.

    Gives a cell's percentile from its number of flagged draws, without storing the draws.
    """
    count = np.asarray(count, dtype=np.int64)
    pos = q / 100 * (n - 1)
    below, frac = int(np.floor(pos)), pos - np.floor(pos)
    first_one = n - count  # the sorted sample is 0 before this index, 1 from it
    low = (below >= first_one).astype(np.float64)
    high = (min(below + 1, n - 1) >= first_one).astype(np.float64)
    return low + frac * (high - low)


def model_threshold_ci(
    p_lost: np.ndarray,
    pixels: sparse.spmatrix,
    flag: Callable[[np.ndarray], np.ndarray],
    persons: np.ndarray,
    groups: sparse.spmatrix,
    *,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    seed: int = 0,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(expected, low, high)`` persons in flagged cells, each building lost with probability ``p_lost``.

    ``pixels`` (buildings x cells) holds each building's pixels per cell, which count
    as lost in a draw where the building is lost; ``flag`` maps the simulated lost
    pixels per cell (draws x cells) to flagged cells (bool, same shape). ``persons``
    are per cell and ``groups`` (cells x groups) split them into units. Returns the
    triples for ``"cells"``, ``"groups"`` and ``"total"``; draws are simulated in
    chunks of at most ``_BUDGET`` elements, and the per-cell percentiles come from
    the count of flagged draws (:func:`bernoulli_percentile`).
    """
    lo, hi = _check(n_boot, level)
    p_lost = np.asarray(p_lost, dtype=np.float64)
    pixels, groups = sparse.csr_matrix(pixels, dtype=np.float64), sparse.csr_matrix(groups, dtype=np.float64)
    persons = np.asarray(persons, dtype=np.float64)
    n_cells, n_groups = pixels.shape[1], groups.shape[1]
    if pixels.shape[0] != p_lost.size or persons.shape != (n_cells,) or groups.shape[0] != n_cells:
        raise ConfigError("p_lost, pixels, persons and groups disagree on the number of buildings or cells")
    if np.any((p_lost < 0) | (p_lost > 1)):
        raise ConfigError("loss probabilities must lie in [0, 1]")
    certain, draw = p_lost >= 1, (p_lost > 0) & (p_lost < 1)
    fixed = np.asarray(pixels[certain].sum(axis=0), dtype=np.float64).ravel()
    random_t = pixels[draw].T.tocsr()  # cells x uncertain buildings
    p_draw = p_lost[draw]
    step = max(1, min(n_boot, _BUDGET // max(p_draw.size, n_cells, n_groups, 1)))
    rng = np.random.default_rng(seed)
    hits = np.zeros(n_cells, dtype=np.int64)
    total = np.empty(n_boot)
    per_group = np.empty((n_boot, n_groups))
    groups_t = groups.T.tocsr()
    for start in range(0, n_boot, step):
        m = min(step, n_boot - start)
        lost = (rng.random((m, p_draw.size)) < p_draw).astype(np.float64)
        sums = fixed + np.asarray(random_t @ lost.T).T  # draws x cells, simulated lost pixels
        flagged = np.asarray(flag(sums), dtype=bool)
        hits += flagged.sum(axis=0)
        weights = flagged.astype(np.float64)
        total[start : start + m] = weights @ persons
        per_group[start : start + m] = np.asarray(groups_t @ weights.T).T
    cells = tuple(
        persons * v
        for v in (hits / n_boot, bernoulli_percentile(hits, n_boot, lo), bernoulli_percentile(hits, n_boot, hi))
    )
    g_low, g_high = np.percentile(per_group, [lo, hi], axis=0)
    t_low, t_high = np.percentile(total, [lo, hi])
    return {
        "cells": cells,
        "groups": (per_group.mean(axis=0), g_low, g_high),
        "total": (np.array([total.mean()]), np.array([t_low]), np.array([t_high])),
    }

"""Gridded evaluation of impacted cells against ground truth: per-cell outcome, P/R/F1, PR curve over theta.

Truth is a per-cell 0/1 grid: from polygons or a mask of the truly affected area
(a cell is affected when at least ``min_overlap`` of it lies inside), or from a
ground-truth DII thresholded at the same ``theta``. Cells where the prediction
(or the truth) is undefined are left out of the scores; with ``exclude_mixed``
so are cells the area boundary cuts (between :data:`MIXED` of them inside), whose
truth is ambiguous.
"""

from __future__ import annotations

import os
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr
from affine import Affine

from geovision.errors import ConfigError
from geovision.impact.grid import block_sum, cell_boxes, cell_pixel_counts, n_cells

#: per-cell outcome codes
UNDEFINED, TN, TP, FP, FN = -1, 0, 1, 2, 3
OUTCOME_NAMES = {UNDEFINED: "undefined", TN: "TN", TP: "TP", FP: "FP", FN: "FN"}
#: a cell with a share of its area inside the affected area strictly within this range is "mixed"
MIXED = (0.02, 0.98)


def _truth_from_share(inside: np.ndarray, min_overlap: float, exclude_mixed: bool) -> np.ndarray:
    if not 0 < min_overlap <= 1:
        raise ConfigError(f"min_overlap must be in (0, 1], got {min_overlap}", fix="pass --min-overlap in (0, 1]")
    truth = (inside >= min_overlap - 1e-12).astype(np.float32)
    if exclude_mixed:
        truth[(inside > MIXED[0]) & (inside < MIXED[1])] = np.nan
    return truth


def truth_from_polygons(
    areas: gpd.GeoDataFrame,
    *,
    transform: Affine,
    raster_shape: tuple[int, int],
    cell_px: int,
    crs: Any = None,
    min_overlap: float = 0.5,
    exclude_mixed: bool = False,
) -> np.ndarray:
    """1.0 for cells at least ``min_overlap`` inside the affected polygons, else 0.0 (NaN: mixed, if excluded)."""
    if crs is not None and areas.crs is not None and areas.crs != crs:
        areas = areas.to_crs(crs)
    shape = (n_cells(raster_shape[0], cell_px), n_cells(raster_shape[1], cell_px))
    boxes = cell_boxes(transform, raster_shape, cell_px)
    region = shapely.union_all(areas.geometry.to_numpy()) if len(areas) else shapely.Polygon()
    inside = shapely.area(shapely.intersection(boxes, region)) / shapely.area(boxes)
    return _truth_from_share(inside.reshape(shape), min_overlap, exclude_mixed)


def truth_from_mask(mask: Any, *, cell_px: int, min_overlap: float = 0.5, exclude_mixed: bool = False) -> np.ndarray:
    """1.0 for cells whose pixels are at least ``min_overlap`` affected (mask > 0), else 0.0 (NaN: mixed)."""
    counts = np.asarray(block_sum(mask > 0, cell_px))
    return _truth_from_share(counts / cell_pixel_counts(mask.shape, cell_px), min_overlap, exclude_mixed)


def _values(grid: Any) -> np.ndarray:
    return np.asarray(grid.to_numpy() if isinstance(grid, xr.DataArray) else grid, dtype=np.float64)


def cell_outcomes(pred: Any, true: Any) -> np.ndarray:
    """Per-cell code: TP=1, FP=2, FN=3, TN=0, undefined=-1 (either side NaN)."""
    p, t = _values(pred), _values(true)
    if p.shape != t.shape:
        raise ConfigError(
            f"predicted grid {p.shape} and truth grid {t.shape} differ",
            fix="compute both on the same grid (same raster, same cell size)",
        )
    out = np.full(p.shape, UNDEFINED, dtype=np.int8)
    defined = np.isfinite(p) & np.isfinite(t)
    pp, tt = p > 0, t > 0
    out[defined & pp & tt] = TP
    out[defined & pp & ~tt] = FP
    out[defined & ~pp & tt] = FN
    out[defined & ~pp & ~tt] = TN
    return out


def grid_scores(pred: Any, true: Any) -> dict:
    """TP/FP/FN/precision/recall/F1 over cells defined on both sides (``evaluate.grid.grid_f1``)."""
    from geovision.evaluate.grid import grid_f1

    p, t = _values(pred), _values(true)
    if p.shape != t.shape:
        raise ConfigError(
            f"predicted grid {p.shape} and truth grid {t.shape} differ",
            fix="compute both on the same grid (same raster, same cell size)",
        )
    defined = np.isfinite(p) & np.isfinite(t)
    return grid_f1(np.nan_to_num(p) > 0, np.nan_to_num(t) > 0, valid=defined)


def pr_curve(scores: Any, true: Any, thetas: np.ndarray | None = None) -> pd.DataFrame:
    """Precision, recall and F1 of ``scores >= theta`` against ``true`` for each theta.

    Default thetas: every distinct defined score (plus one above the maximum), so
    the curve is exact. Returns columns ``theta, tp, fp, fn, precision, recall, f1``.
    """
    s, t = _values(scores), _values(true)
    if s.shape != t.shape:
        raise ConfigError(f"score grid {s.shape} and truth grid {t.shape} differ")
    defined = np.isfinite(s) & np.isfinite(t)
    if thetas is None:
        values = np.unique(s[defined])
        thetas = np.r_[values, values.max() * 1.01 + 1e-9] if values.size else np.array([0.0])
    rows = []
    for theta in np.asarray(thetas, dtype=np.float64):
        pred = np.where(defined, (s >= theta).astype(np.float64), np.nan)
        scores_at = grid_scores(pred, np.where(defined, t, np.nan))
        rows.append({"theta": float(theta), **{k.lower(): v for k, v in scores_at.items()}})
    return pd.DataFrame(rows)


def best_theta(curve: pd.DataFrame) -> dict:
    """The row of the curve with the highest F1 (lowest theta on ties)."""
    if curve.empty:
        raise ConfigError("empty precision-recall curve")
    return curve.sort_values(["f1", "theta"], ascending=[False, True]).iloc[0].to_dict()


def save_pr_curve(
    curve: pd.DataFrame,
    csv_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str] | None = None,
    *,
    overwrite: bool = False,
    title: str = "Impacted cells: precision-recall over theta",
) -> None:
    """Write the curve as CSV and (optionally) a PNG plot, atomically."""
    from geovision.io.atomic import atomic_output

    with atomic_output(csv_path, overwrite=overwrite) as tmp:
        curve.to_csv(tmp, index=False)
    if png_path is None:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_pr, ax_f1) = plt.subplots(1, 2, figsize=(9, 4))
    ax_pr.plot(curve["recall"], curve["precision"], marker=".")
    ax_pr.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02), title="precision-recall")
    ax_f1.plot(curve["theta"], curve["f1"], marker=".")
    ax_f1.set(xlabel="theta (DII threshold)", ylabel="F1", ylim=(0, 1.02), title="F1 over theta")
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_output(png_path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def evaluate_dii(
    pred_pre: Any,
    pred_post: Any,
    true_pre: Any,
    true_post: Any,
    *,
    cell_px: int = 256,
    theta: float = 0.1,
    tau: float = 0.5,
    valid: Any = None,
    tolerance_px: int = 0,
    mean_over: str = "all",
    transform: Affine | None = None,
    crs: Any = None,
) -> dict:
    """Grid F1 of impacted cells from predicted masks against those from ground-truth masks.

    Both DII grids use the same cells, ``theta`` and ``mean_over``; the prediction
    may be probabilities (``>= tau``). Returns ``scores`` (at theta), ``curve``
    (PR curve of the predicted DII against the truth cells) and both grids.
    """
    from geovision.impact.dii import compute_dii_grid, flag_impacted

    common = dict(valid=valid, cell_px=cell_px, mean_over=mean_over, transform=transform, crs=crs)
    truth = compute_dii_grid(true_pre, true_post, tau=0.5, **common)
    pred = compute_dii_grid(pred_pre, pred_post, tau=tau, tolerance_px=tolerance_px, **common)
    true_flags = flag_impacted(truth, theta)
    return {
        "scores": grid_scores(flag_impacted(pred, theta), true_flags),
        "curve": pr_curve(pred["dii"], true_flags),
        "pred": pred,
        "truth": truth,
    }

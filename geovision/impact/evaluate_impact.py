"""Ground truth of impacted cells (from polygons, a mask or truth masks) and the DII evaluation of predicted masks.

Truth is a per-cell 0/1 grid: from polygons or a mask of the truly affected area
(a cell is affected when at least ``min_overlap`` of it lies inside), or from a
ground-truth DII thresholded at the same ``theta``. Cells where the prediction
(or the truth) is undefined are left out of the scores; with ``exclude_mixed``
so are cells the area boundary cuts (between :data:`MIXED` of them inside), whose
truth is ambiguous. The scores themselves (per-cell outcome, P/R/F1/IoU, the PR curve over
theta) are :mod:`geovision.evaluate.grid`'s.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine

from geovision.errors import ConfigError
from geovision.evaluate.grid import grid_f1, pr_curve
from geovision.impact.grid import block_sum, cell_boxes, cell_pixel_counts, n_cells

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
        "scores": grid_f1(flag_impacted(pred, theta), true_flags),
        "curve": pr_curve(pred["dii"], true_flags),
        "pred": pred,
        "truth": truth,
    }

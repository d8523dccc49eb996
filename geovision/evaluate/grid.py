"""Grid-level scores of the Disaster Impact Index: did we flag the cells that were really impacted?

One scorer, :func:`grid_f1`, for every form a grid comes in: arrays (positive = impacted, NaN =
undefined, not scored), xarray grids, impact-grid COGs (:func:`impacted_grid_f1`) and vector grids
(GeoPackage/GeoJSON with an ``impacted`` column, or a ``dii`` column and a threshold:
:func:`read_vector_grid`, :func:`match_vector_grids`). :func:`cell_outcomes` labels each cell,
:func:`pr_curve` scores every threshold of a DII grid.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from geovision.errors import AlignmentError, ConfigError
from geovision.evaluate.pixel import PixelCounts

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

#: per-cell outcome codes
UNDEFINED, TN, TP, FP, FN = -1, 0, 1, 2, 3
OUTCOME_NAMES = {UNDEFINED: "undefined", TN: "TN", TP: "TP", FP: "FP", FN: "FN"}


def _same_grid(pred: Any, true: Any, what: str = "predicted") -> tuple[np.ndarray, np.ndarray]:
    """Both grids as float arrays (numpy, xarray or dask-backed), which must have one shape."""
    p, t = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if p.shape != t.shape:
        raise ConfigError(
            f"{what} grid {p.shape} and truth grid {t.shape} differ",
            fix="compute both on the same grid (same raster, same cell size)",
        )
    return p, t


def grid_f1(pred: Any, true: Any, valid: Any = None) -> dict:
    """TP/FP/FN/TN, precision, recall, F1, IoU and ``n_cells`` of the impacted cells of two grids.

    ``pred`` and ``true`` are grids of one shape (boolean, 0/1 or any numbers: positive = impacted);
    a cell is scored where both are defined (not NaN) and ``valid`` (same shape, optional) is set.
    """
    p, t = _same_grid(pred, true)
    defined = np.isfinite(p) & np.isfinite(t)
    if valid is not None:
        if np.shape(valid) != p.shape:
            raise AlignmentError(
                f"valid mask {np.shape(valid)} and grids {p.shape} differ in shape",
                fix="read the mask onto the grids' cells",
            )
        defined &= np.asarray(valid).astype(bool, copy=False)
    counts = PixelCounts().update(np.nan_to_num(p) > 0, np.nan_to_num(t) > 0, defined)
    result = counts.to_dict()
    result["n_cells"] = counts.tp + counts.fp + counts.fn + counts.tn
    return result


def cell_outcomes(pred: Any, true: Any) -> np.ndarray:
    """Per-cell code: TP=1, FP=2, FN=3, TN=0, undefined=-1 (either side NaN)."""
    p, t = _same_grid(pred, true)
    out = np.full(p.shape, UNDEFINED, dtype=np.int8)
    defined = np.isfinite(p) & np.isfinite(t)
    pp, tt = p > 0, t > 0
    out[defined & pp & tt] = TP
    out[defined & pp & ~tt] = FP
    out[defined & ~pp & tt] = FN
    out[defined & ~pp & ~tt] = TN
    return out


def pr_curve(scores: Any, true: Any, thetas: np.ndarray | None = None) -> pd.DataFrame:
    """:func:`grid_f1` of ``scores >= theta`` against ``true`` for each theta.

    Default thetas: every distinct defined score (plus one above the maximum), so the curve is
    exact. Columns: ``theta``, then those of :func:`grid_f1` (``tp, fp, fn, tn, precision, recall,
    f1, iou, n_cells``).
    """
    import pandas as pd

    s, t = _same_grid(scores, true, "score")
    defined = np.isfinite(s) & np.isfinite(t)
    if thetas is None:
        values = np.unique(s[defined])
        thetas = np.r_[values, values.max() * 1.01 + 1e-9] if values.size else np.array([0.0])
    rows = [
        {"theta": float(theta), **grid_f1(s >= theta, t > 0, defined)} for theta in np.asarray(thetas, dtype=np.float64)
    ]
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


def _read_band(path: str | os.PathLike[str], name: str) -> tuple[np.ndarray, Any]:
    """The band called ``name`` of an impact-grid COG, and the grid's transform."""
    import rasterio

    with rasterio.open(path) as src:
        if name not in src.descriptions:
            raise AlignmentError(
                f"impact grid has no band `{name}` (bands: {src.descriptions})",
                path=path,
                fix="recompute the grid with a threshold (theta)",
            )
        return src.read(src.descriptions.index(name) + 1), src.transform


def impacted_grid_f1(predicted: str | os.PathLike[str], reference: str | os.PathLike[str]) -> dict[str, float]:
    """:func:`grid_f1` of the ``impacted`` bands of two impact-grid COGs (all figures as floats)."""
    pred, pred_transform = _read_band(predicted, "impacted")
    true, true_transform = _read_band(reference, "impacted")
    if pred.shape != true.shape or not pred_transform.almost_equals(true_transform):
        raise AlignmentError(
            "predicted and reference grids differ",
            path=predicted,
            fix="compute both with the same cell size on the same image grid",
        )
    return {key: float(value) for key, value in grid_f1(pred, true).items()}


def impacted_from_table(values: np.ndarray, *, threshold: float | None) -> np.ndarray:
    """Boolean flags from an ``impacted`` column (``threshold=None``) or DII values ``>= threshold``."""
    values = np.asarray(values, dtype=float)
    if threshold is None:
        return values > 0
    return values >= threshold


def read_vector_grid(
    path: str | Path, *, threshold: float | None = None, column: str | None = None
) -> gpd.GeoDataFrame:
    """A vector grid as a GeoDataFrame with a boolean ``impacted`` column and a ``valid`` column.

    ``column`` defaults to ``impacted`` without a threshold and to ``dii`` with one. Cells whose
    value is missing (NaN) are not valid.
    """
    import geopandas as gpd

    frame = gpd.read_file(path)
    name = column or ("dii" if threshold is not None else "impacted")
    if name not in frame.columns:
        raise ConfigError(
            f"the grid has no column {name!r} (columns: {', '.join(map(str, frame.columns))})",
            path=path,
            fix="pass --column, or --threshold to flag cells from a DII column",
        )
    values = frame[name].to_numpy(dtype=float, na_value=np.nan)
    frame["valid"] = np.isfinite(values)
    frame["impacted"] = impacted_from_table(np.nan_to_num(values, nan=0.0), threshold=threshold)
    return frame


def match_vector_grids(pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame) -> dict:
    """:func:`grid_f1` of two vector grids; each predicted cell is paired with the truth cell that
    contains its centroid (the truth is reprojected to the prediction's CRS first)."""
    if pred.crs is not None and truth.crs is not None and pred.crs != truth.crs:
        truth = truth.to_crs(pred.crs)
    centroids = pred.geometry.representative_point()
    pred_idx, truth_idx = truth.sindex.query(centroids, predicate="within")
    first: dict[int, int] = {}
    for p, t in zip(pred_idx.tolist(), truth_idx.tolist(), strict=True):
        first.setdefault(p, t)
    if len(pred) and not first:
        raise AlignmentError(
            "no cell of the predicted grid lies inside a truth cell",
            fix="compare grids that cover the same area (check their CRS)",
        )
    rows = np.array(sorted(first), dtype=np.int64)
    index = np.array([first[p] for p in rows], dtype=np.int64)
    valid = pred["valid"].to_numpy()[rows] & truth["valid"].to_numpy()[index]
    result = grid_f1(pred["impacted"].to_numpy()[rows], truth["impacted"].to_numpy()[index], valid)
    result["n_unmatched_cells"] = int(len(pred) - len(rows))
    return result

"""Grid-level scores of the Disaster Impact Index: did we flag the cells that were really impacted?

``impacted`` grids come as rasters (non-zero = impacted, nodata = not scored) or as vector grids
(GeoPackage/GeoJSON with an ``impacted`` column, or a ``dii`` column and a threshold).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from geovision.errors import AlignmentError, ConfigError
from geovision.evaluate.pixel import PixelCounts

if TYPE_CHECKING:
    import geopandas as gpd


def grid_f1(pred_impacted: np.ndarray, true_impacted: np.ndarray, valid: np.ndarray | None = None) -> dict:
    """Per-cell TP/FP/FN/TN, precision, recall, F1 and IoU of two boolean grids of one shape."""
    counts = PixelCounts().update(pred_impacted, true_impacted, valid)
    result = counts.to_dict()
    result["n_cells"] = counts.tp + counts.fp + counts.fn + counts.tn
    return result


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

"""Scores of a run against its reference: predicted vs ground-truth impacted cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio

from geovision.errors import AlignmentError
from geovision.evaluate.grid import grid_f1


def read_grid_band(path: Path, name: str) -> tuple[np.ndarray, rasterio.Affine]:
    """The band called ``name`` of an impact-grid COG, and the grid's transform."""
    with rasterio.open(path) as src:
        if name not in src.descriptions:
            raise AlignmentError(
                f"impact grid has no band `{name}` (bands: {src.descriptions})",
                path=path,
                fix="recompute the grid with a threshold (theta)",
            )
        return src.read(src.descriptions.index(name) + 1), src.transform


def impacted_grid_f1(predicted: Path, reference: Path) -> dict[str, float]:
    """Grid-level precision/recall/F1 of impacted cells, over cells defined in both grids."""
    pred, pred_transform = read_grid_band(predicted, "impacted")
    true, true_transform = read_grid_band(reference, "impacted")
    if pred.shape != true.shape or not pred_transform.almost_equals(true_transform):
        raise AlignmentError(
            "predicted and reference grids differ",
            path=predicted,
            fix="compute both with the same cell size on the same image grid",
        )
    valid = np.isfinite(pred) & np.isfinite(true)
    scores = grid_f1(pred > 0.5, true > 0.5, valid)
    return {key: float(value) for key, value in scores.items()}

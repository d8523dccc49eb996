"""Grid-level impacted-cell F1."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from geovision.evaluate.grid import grid_f1, match_vector_grids, read_vector_grid


def test_grid_f1_counts_cells():
    pred = np.array([[1, 1, 0], [0, 0, 1]], bool)
    truth = np.array([[1, 0, 0], [1, 0, 1]], bool)
    valid = np.array([[1, 1, 1], [1, 1, 0]], bool)
    result = grid_f1(pred, truth, valid)
    assert (result["tp"], result["fp"], result["fn"], result["tn"], result["n_cells"]) == (1, 1, 1, 2, 5)
    assert result["f1"] == pytest.approx(0.5)
    assert grid_f1(np.zeros(3, bool), np.zeros(3, bool))["f1"] == 1.0


def _grid(values, column, crs="EPSG:32611"):
    cells = [box(600000 + 100 * i, 4000000, 600100 + 100 * i, 4000100) for i in range(len(values))]
    return gpd.GeoDataFrame({column: values}, geometry=cells, crs=crs)


def test_vector_grids_in_different_crs_with_dii_threshold(tmp_path):
    _grid([0.1, 2.5, 3.0, np.nan], "dii").to_file(tmp_path / "pred.gpkg")
    _grid([0, 1, 0, 1], "impacted").to_crs("EPSG:4326").to_file(tmp_path / "truth.gpkg")
    pred = read_vector_grid(tmp_path / "pred.gpkg", threshold=2.0)
    truth = read_vector_grid(tmp_path / "truth.gpkg")
    result = match_vector_grids(pred, truth)
    assert (result["tp"], result["fp"], result["fn"], result["tn"]) == (1, 1, 0, 1)  # NaN cell not scored
    assert result["n_unmatched_cells"] == 0

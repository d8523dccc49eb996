"""Grid-level impacted-cell F1."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from geovision.errors import AlignmentError, ConfigError
from geovision.evaluate.grid import grid_f1, impacted_grid_f1, match_vector_grids, pr_curve, read_vector_grid
from tests.rasters import write_geotiff


def test_grid_f1_counts_cells():
    pred = np.array([[1, 1, 0], [0, 0, 1]], bool)
    truth = np.array([[1, 0, 0], [1, 0, 1]], bool)
    valid = np.array([[1, 1, 1], [1, 1, 0]], bool)
    result = grid_f1(pred, truth, valid)
    assert (result["tp"], result["fp"], result["fn"], result["tn"], result["n_cells"]) == (1, 1, 1, 2, 5)
    assert result["f1"] == pytest.approx(0.5)
    assert grid_f1(np.zeros(3, bool), np.zeros(3, bool))["f1"] == 1.0


def test_grid_f1_leaves_out_undefined_cells():
    """NaN (either side) is not scored; positive values are impacted; xarray grids score like arrays."""
    import xarray as xr

    pred = np.array([[1.0, 0.0, np.nan], [0.7, 0.0, 1.0]])
    truth = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, np.nan]])
    result = grid_f1(pred, truth)
    assert (result["tp"], result["fp"], result["fn"], result["tn"], result["n_cells"]) == (1, 1, 1, 1, 4)
    assert grid_f1(xr.DataArray(pred, dims=("y", "x")), truth) == result
    assert grid_f1(pred, truth, np.array([[1, 1, 1], [0, 1, 1]], bool))["n_cells"] == 3
    with pytest.raises(ConfigError):
        grid_f1(pred, truth[:, :2])
    curve = pr_curve(np.array([0.1, 0.5, 0.9, np.nan]), np.array([0.0, 1.0, 1.0, 1.0]))
    assert list(curve.columns) == ["theta", "tp", "fp", "fn", "tn", "precision", "recall", "f1", "iou", "n_cells"]


def test_impacted_grid_f1_of_two_cogs(tmp_path):
    """The `evaluate` stage's figures: the `impacted` bands of two impact grids, every figure a float."""
    pred = np.array([[1, 0, np.nan], [1, 0, 1]], np.float32)
    truth = np.array([[1, 1, 1], [0, 0, np.nan]], np.float32)
    bands = ["dii", "impacted"]
    write_geotiff(tmp_path / "pred.tif", np.stack([pred, pred]), res_m=256, descriptions=bands)
    write_geotiff(tmp_path / "truth.tif", np.stack([truth, truth]), res_m=256, descriptions=bands)
    figures = impacted_grid_f1(tmp_path / "pred.tif", tmp_path / "truth.tif")
    assert figures == {key: float(value) for key, value in grid_f1(pred, truth).items()}
    assert list(figures) == ["tp", "fp", "fn", "tn", "precision", "recall", "f1", "iou", "n_cells"]
    assert all(type(value) is float for value in figures.values())
    write_geotiff(tmp_path / "shifted.tif", np.stack([truth, truth]), res_m=128, descriptions=bands)
    with pytest.raises(AlignmentError, match="differ"):
        impacted_grid_f1(tmp_path / "pred.tif", tmp_path / "shifted.tif")
    write_geotiff(tmp_path / "dii_only.tif", truth, res_m=256, descriptions=["dii"])
    with pytest.raises(AlignmentError, match="no band `impacted`"):
        impacted_grid_f1(tmp_path / "pred.tif", tmp_path / "dii_only.tif")


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

"""Pixel counts and windowed raster scoring on different grids."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import rasterio

from geovision.errors import AlignmentError, NoOverlapError
from geovision.evaluate.pixel import PixelCounts
from geovision.evaluate.rasters import score_mask_rasters
from tests.rasters import write_geotiff

#: 1 m pixels in UTM 11N (Las Vegas, as SpaceNet's)
_write = functools.partial(write_geotiff, crs="EPSG:32611", res_m=1.0, origin=(600000.0, 4000000.0))


def test_counts_sum_over_tiles_and_respect_valid():
    counts = PixelCounts()
    counts.update(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0]))
    counts.update(np.array([1, 1]), np.array([1, 1]), valid=np.array([True, False]))
    assert (counts.tp, counts.fp, counts.fn, counts.tn) == (2, 1, 1, 1)
    assert counts.precision == pytest.approx(2 / 3)
    assert counts.recall == pytest.approx(2 / 3)
    assert counts.f1 == pytest.approx(2 / 3)
    assert counts.iou == pytest.approx(0.5)
    assert (counts + counts).tp == 4


def test_empty_conventions():
    both_empty = PixelCounts().update(np.zeros(4), np.zeros(4))
    assert (both_empty.precision, both_empty.recall, both_empty.f1, both_empty.iou) == (1.0, 1.0, 1.0, 1.0)
    missed = PixelCounts().update(np.zeros(4), np.ones(4))
    assert (missed.precision, missed.recall, missed.f1) == (0.0, 0.0, 0.0)
    false_alarm = PixelCounts().update(np.ones(4), np.zeros(4))
    assert (false_alarm.precision, false_alarm.recall, false_alarm.f1) == (0.0, 0.0, 0.0)


def test_shape_mismatch_is_an_alignment_error():
    with pytest.raises(AlignmentError):
        PixelCounts().update(np.zeros(3), np.zeros(4))


def test_truth_is_read_onto_coarser_prediction_grid_and_outside_pixels_are_ignored(tmp_path):
    truth = np.zeros((100, 100), np.uint8)
    truth[:, :50] = 1  # left 50 m
    _write(tmp_path / "truth.tif", truth, res_m=1.0)
    pred = np.zeros((50, 60), np.uint8)  # 2 m pixels, 20 m wider than the truth
    pred[:, :25] = 1
    pred[:, 50:] = 1  # outside the truth footprint: must not count
    pred[0, 0] = 255  # nodata: must not count
    _write(tmp_path / "pred.tif", pred, res_m=2.0, nodata=255)
    counts = score_mask_rasters(tmp_path / "pred.tif", tmp_path / "truth.tif", window_px=16)
    assert (counts.tp, counts.fp, counts.fn) == (50 * 25 - 1, 0, 0)
    assert counts.tn == 50 * 25
    assert counts.iou == 1.0


def test_truth_in_another_crs_is_reprojected(tmp_path):
    truth = np.zeros((100, 100), np.uint8)
    truth[20:80, 20:80] = 1
    _write(tmp_path / "truth.tif", truth)
    with rasterio.open(tmp_path / "truth.tif") as src:
        from rasterio.warp import calculate_default_transform, reproject

        transform, width, height = calculate_default_transform(src.crs, "EPSG:4326", src.width, src.height, *src.bounds)
        pred = np.zeros((height, width), np.uint8)
        reproject(
            truth, pred, src_transform=src.transform, src_crs=src.crs, dst_transform=transform, dst_crs="EPSG:4326"
        )
    write_geotiff(tmp_path / "pred.tif", pred, crs="EPSG:4326", transform=transform)
    counts = score_mask_rasters(tmp_path / "pred.tif", tmp_path / "truth.tif")
    assert counts.iou > 0.95
    assert counts.tp > 3000


def test_probability_threshold(tmp_path):
    _write(tmp_path / "truth.tif", np.array([[1, 1, 0, 0]], np.uint8))
    _write(tmp_path / "pred.tif", np.array([[0.9, 0.4, 0.6, 0.1]], np.float32))
    counts = score_mask_rasters(tmp_path / "pred.tif", tmp_path / "truth.tif", pred_threshold=0.5)
    assert (counts.tp, counts.fp, counts.fn, counts.tn) == (1, 1, 1, 1)


def test_no_overlap(tmp_path):
    _write(tmp_path / "truth.tif", np.ones((10, 10), np.uint8))
    _write(tmp_path / "pred.tif", np.ones((10, 10), np.uint8), origin=(700000.0, 4000000.0))
    with pytest.raises(NoOverlapError):
        score_mask_rasters(tmp_path / "pred.tif", tmp_path / "truth.tif")

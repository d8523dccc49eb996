"""The SpaceNet 2 scorer (solaris' rules) on hand-computed SpaceNet-format CSVs."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from geovision.errors import ConfigError
from geovision.evaluate.objects import match_in_confidence_order
from geovision.evaluate.spacenet2 import aoi_of, spacenet2_score
from geovision.evaluate.vectors import read_vectors


def test_per_aoi_with_the_20_pixel_rule(spacenet2_csvs):
    pred_csv, truth_csv = spacenet2_csvs
    score = spacenet2_score(read_vectors(pred_csv), read_vectors(truth_csv)).to_dict()
    vegas, paris = score["per_aoi"]["AOI_2_Vegas"], score["per_aoi"]["AOI_3_Paris"]
    assert (vegas["tp"], vegas["fp"], vegas["fn"]) == (2, 1, 1)
    assert vegas["f1"] == pytest.approx(2 / 3)
    assert (paris["tp"], paris["fp"], paris["fn"]) == (1, 3, 1)
    assert (paris["precision"], paris["recall"]) == (0.25, 0.5)
    assert paris["f1"] == pytest.approx(1 / 3)
    assert (score["tp"], score["fp"], score["fn"]) == (3, 4, 2)
    assert score["f1"] == pytest.approx(0.5) and score["mean_aoi_f1"] == pytest.approx(0.5)
    assert (score["n_small_truth"], score["n_small_pred"]) == (1, 1)
    assert score["per_image"]["AOI_3_Paris_img8"] == {
        "tp": 0,
        "fp": 1,
        "fn": 0,
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
    }


def test_without_the_rule_the_small_building_counts(spacenet2_csvs):
    pred_csv, truth_csv = spacenet2_csvs
    vegas = spacenet2_score(read_vectors(pred_csv), read_vectors(truth_csv), min_area_px=0).per_aoi["AOI_2_Vegas"]
    assert (vegas.tp, vegas.fp, vegas.fn) == (3, 1, 1)


def test_confidence_order_decides_the_match():
    truth = [box(0, 0, 10, 10)]
    pairs = match_in_confidence_order([box(2, 0, 12, 10), box(1, 0, 11, 10)], truth)
    assert [(i, j) for i, j, _ in pairs] == [(0, 0)]  # the first, not the best, prediction wins
    assert match_in_confidence_order([box(0, 0, 20, 10)], truth) == []  # IoU 0.5 is not above 0.5


def test_aoi_of_image_ids():
    assert aoi_of("AOI_2_Vegas_img123") == "AOI_2_Vegas"
    assert aoi_of("img5") == "img5"


def test_georeferenced_footprints_are_refused(tmp_path):
    import geopandas as gpd

    frame = gpd.GeoDataFrame({"image_id": ["a"]}, geometry=[box(0, 0, 10, 10)], crs="EPSG:32611")
    with pytest.raises(ConfigError, match="pixel coordinates"):
        spacenet2_score(frame, frame)

"""SpaceNet object F1 on hand-computed cases."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import MultiPolygon, Polygon, box

from geovision.errors import GeoreferenceError
from geovision.evaluate.objects import match_polygons, object_f1
from geovision.evaluate.vectors import read_vectors


def _frame(geoms, crs="EPSG:32611", image="a"):
    return gpd.GeoDataFrame({"image_id": [image] * len(geoms)}, geometry=list(geoms), crs=crs)


def _score(pred, truth, **kwargs):
    return object_f1(_frame(pred), _frame(truth), **kwargs)


def test_touching_buildings_are_matched_separately():
    truth = [box(0, 0, 10, 10), box(10, 0, 20, 10)]
    pred = [box(0, 0, 10, 10), box(12, 0, 22, 10)]  # second: IoU 80/120
    score = _score(pred, truth)
    assert (score.counts.tp, score.counts.fp, score.counts.fn) == (2, 0, 0)
    assert sorted(round(m.iou, 4) for m in score.matches) == [0.6667, 1.0]


def test_one_merged_prediction_matches_at_most_one_of_two_touching_buildings():
    score = _score([box(0, 0, 20, 10)], [box(0, 0, 10, 10), box(10, 0, 20, 10)])  # IoU 0.5 with each
    assert (score.counts.tp, score.counts.fp, score.counts.fn) == (1, 0, 1)
    assert score.f1 == pytest.approx(2 / 3)


def test_holes_count_in_iou():
    ring = Polygon(box(0, 0, 10, 10).exterior.coords, [box(1, 1, 9, 9).exterior.coords])  # area 36
    score = _score([box(0, 0, 10, 10)], [ring])  # IoU 0.36
    assert (score.counts.tp, score.counts.fp, score.counts.fn) == (0, 1, 1)
    small_hole = Polygon(box(0, 0, 10, 10).exterior.coords, [box(3, 3, 7, 7).exterior.coords])
    assert _score([box(0, 0, 10, 10)], [small_hole]).matches[0].iou == pytest.approx(0.84)


def test_multipolygon_row_is_one_building():
    truth = [MultiPolygon([box(0, 0, 5, 5), box(10, 0, 15, 5)])]
    score = _score([box(0, 0, 5, 5), box(10, 0, 15, 5)], truth)  # each IoU 0.5, one-to-one
    assert (score.counts.tp, score.counts.fp, score.counts.fn) == (1, 1, 0)
    assert score.counts.precision == 0.5 and score.counts.recall == 1.0


def test_empty_prediction_and_empty_truth():
    truth = [box(0, 0, 5, 5), box(10, 0, 15, 5), box(20, 0, 25, 5)]
    empty_pred = _score([], truth)
    assert (empty_pred.counts.tp, empty_pred.counts.fp, empty_pred.counts.fn, empty_pred.f1) == (0, 0, 3, 0.0)
    empty_truth = _score(truth[:2], [])
    assert (empty_truth.counts.fp, empty_truth.counts.fn, empty_truth.f1) == (2, 0, 0.0)
    assert _score([], []).f1 == 1.0


def test_invalid_polygons_are_repaired_and_counted():
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    score = _score([bowtie], [Polygon([(0, 0), (5, 5), (0, 10)]), Polygon([(10, 0), (5, 5), (10, 10)])])
    assert score.n_repaired_pred == 1
    assert (score.counts.tp, score.counts.fp, score.counts.fn) == (1, 0, 1)  # IoU 25/50 with either half


def test_truth_in_another_crs_is_reprojected():
    pred = _frame([box(664500, 4011900, 664520, 4011920)])
    truth = pred.to_crs("EPSG:4326")
    score = object_f1(pred, truth)
    assert score.counts.tp == 1 and score.matches[0].iou == pytest.approx(1.0, abs=1e-6)


def test_min_area_drops_small_footprints_on_both_sides():
    pred = [box(0, 0, 10, 10), box(50, 50, 52, 52)]
    truth = [box(0, 0, 10, 10), box(80, 80, 83, 83)]
    score = _score(pred, truth, min_area_m2=20.0)
    assert (score.counts.tp, score.counts.fp, score.counts.fn) == (1, 0, 0)
    assert (score.n_small_pred, score.n_small_truth) == (1, 1)


def test_per_image_and_overall():
    pred = gpd.GeoDataFrame({"image_id": ["a", "b"]}, geometry=[box(0, 0, 10, 10), box(0, 0, 10, 10)])
    truth = gpd.GeoDataFrame({"image_id": ["a", "c"]}, geometry=[box(0, 0, 10, 10), box(0, 0, 10, 10)])
    score = object_f1(pred, truth)
    assert {k: (c.tp, c.fp, c.fn) for k, c in score.per_image.items()} == {
        "a": (1, 0, 0),
        "b": (0, 1, 0),
        "c": (0, 0, 1),
    }
    assert (score.counts.tp, score.counts.fp, score.counts.fn) == (1, 1, 1)


def test_best_iou_first():
    truth = [box(0, 0, 10, 10)]
    pred = [box(1, 0, 11, 10), box(0, 0, 10, 10)]
    assert match_polygons(pred, truth) == [(1, 0, 1.0)]


def test_spacenet_csv_with_pixel_wkt(tmp_path):
    (tmp_path / "truth.csv").write_text(
        "ImageId,BuildingId,PolygonWKT_Pix,PolygonWKT_Geo\n"
        'img1,1,"POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0))","POLYGON EMPTY"\n'
        'img2,-1,"POLYGON EMPTY","POLYGON EMPTY"\n'
    )
    (tmp_path / "pred.csv").write_text(
        "ImageId,BuildingId,PolygonWKT_Pix,Confidence\n"
        'img1,0,"POLYGON ((1 0, 11 0, 11 10, 1 10, 1 0))",1\n'
        'img2,0,"POLYGON ((0 0, 4 0, 4 4, 0 4, 0 0))",1\n'
    )
    pred, truth = read_vectors(tmp_path / "pred.csv"), read_vectors(tmp_path / "truth.csv")
    score = object_f1(pred, truth)
    assert {k: (c.tp, c.fp, c.fn) for k, c in score.per_image.items()} == {"img1": (1, 0, 0), "img2": (0, 1, 0)}
    assert score.matches[0].iou == pytest.approx(90 / 110)


def test_pixel_and_map_coordinates_cannot_be_mixed():
    with pytest.raises(GeoreferenceError):
        object_f1(_frame([box(0, 0, 1, 1)], crs=None), _frame([box(0, 0, 1, 1)]))

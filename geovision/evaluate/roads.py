"""Road network scores from vectors: APLS and relaxed (buffered) F1, in a metric CRS.

Relaxed F1 (Wiedemann's completeness/correctness): precision is the share of predicted length
within ``buffer_m`` of a true road, recall the share of true length within ``buffer_m`` of a
predicted road.
"""

from __future__ import annotations

import shapely

from geovision.errors import GeoreferenceError
from geovision.evaluate.apls import APLSResult, apls_graphs
from geovision.evaluate.road_graph import road_graph
from geovision.evaluate.vectors import common_crs, metric_crs

# SpaceNet's reference drops truth components shorter than 5 m and proposal ones shorter than
# 10 pixels (3 m at 0.3 m/px)
TRUTH_MIN_SUBGRAPH_M = 5.0
PRED_MIN_SUBGRAPH_M = 3.0


def relaxed_f1(pred_lines, truth_lines, *, buffer_m: float = 3.0) -> dict:
    """Length-based precision, recall and F1 of two line arrays in one metric CRS."""
    pred = shapely.union_all(pred_lines)
    truth = shapely.union_all(truth_lines)
    pred_len, truth_len = pred.length, truth.length
    if pred_len == 0 or truth_len == 0:
        value = 1.0 if pred_len == 0 and truth_len == 0 else 0.0
        return {"precision": value, "recall": value, "f1": value, "buffer_m": buffer_m,
                "pred_length_m": pred_len, "truth_length_m": truth_len}
    precision = pred.intersection(truth.buffer(buffer_m)).length / pred_len
    recall = truth.intersection(pred.buffer(buffer_m)).length / truth_len
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "buffer_m": buffer_m,
            "pred_length_m": pred_len, "truth_length_m": truth_len}


def to_metric(pred, truth):
    """Both frames in one metric CRS (UTM of the data unless already projected in metres)."""
    pred, truth = common_crs(pred, truth)
    if pred.crs is None:
        raise GeoreferenceError("road scores need map coordinates, the inputs have no CRS",
                                fix="give --image, the raster that pixel coordinates refer to")
    crs = metric_crs(truth, pred)
    if crs is None:  # nothing to measure
        return pred, truth
    return pred.to_crs(crs), truth.to_crs(crs)


def road_scores(pred, truth, *, max_snap_dist_m: float = 4.0, buffer_m: float = 3.0) -> dict[str, dict]:
    """APLS and relaxed F1 per image and their means, for line GeoDataFrames with ``image_id``."""
    pred, truth = to_metric(pred, truth)
    per_image: dict[str, dict] = {}
    for image in sorted(set(pred["image_id"]) | set(truth["image_id"])):
        p = pred.geometry[pred["image_id"] == image].values
        t = truth.geometry[truth["image_id"] == image].values
        result: APLSResult = apls_graphs(road_graph(t, min_subgraph_length_m=TRUTH_MIN_SUBGRAPH_M),
                                         road_graph(p, min_subgraph_length_m=PRED_MIN_SUBGRAPH_M),
                                         max_snap_dist_m=max_snap_dist_m)
        per_image[str(image)] = {"apls": result.to_dict(), "relaxed": relaxed_f1(p, t, buffer_m=buffer_m)}
    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    return {"apls": mean([r["apls"]["apls"] for r in per_image.values()]),
            "relaxed_f1": mean([r["relaxed"]["f1"] for r in per_image.values()]),
            "n_images": len(per_image), "per_image": per_image}

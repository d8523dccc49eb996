"""SpaceNet object-level building F1.

Per image, predicted and true footprints are paired one-to-one, best IoU first, keeping pairs
with ``IoU >= iou_threshold`` (0.5): a pair is a true positive, an unpaired prediction a false
positive, an unpaired truth a false negative. Each row is one building (a MultiPolygon row is one
building). Footprints smaller than ``min_area_m2`` are dropped from both sides first (area in a
metric CRS). Invalid polygons are repaired with ``shapely.make_valid`` and counted; the truth is
reprojected to the prediction's CRS. Scores: see :class:`~geovision.evaluate.pixel.PixelCounts`.

:func:`match_in_confidence_order` is the SpaceNet 2 scorer's matching instead (each prediction in
turn takes its best remaining truth), used by :mod:`geovision.evaluate.spacenet2`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from geovision.errors import ConfigError
from geovision.evaluate.pixel import PixelCounts
from geovision.evaluate.vectors import common_crs, metric_crs, repair_polygons

if TYPE_CHECKING:
    import geopandas as gpd


@dataclass(frozen=True)
class Match:
    """One true positive: row positions in the prediction and truth frames, and their IoU."""

    image_id: str
    pred_index: int
    truth_index: int
    iou: float


@dataclass
class ObjectScore:
    """Overall and per-image TP/FP/FN with precision, recall and F1, plus what was cleaned."""

    counts: PixelCounts = field(default_factory=PixelCounts)
    per_image: dict[str, PixelCounts] = field(default_factory=dict)
    matches: list[Match] = field(default_factory=list)
    n_repaired_pred: int = 0
    n_repaired_truth: int = 0
    n_small_pred: int = 0
    n_small_truth: int = 0

    @property
    def f1(self) -> float:
        return self.counts.f1

    def to_dict(self, *, with_matches: bool = True) -> dict:
        """Everything as plain JSON types (``tn`` is meaningless for objects and left out)."""

        def scores(c: PixelCounts) -> dict:
            return {k: v for k, v in c.to_dict().items() if k not in ("tn", "iou")}

        out = {
            **scores(self.counts),
            "mean_iou_of_matches": float(np.mean([m.iou for m in self.matches])) if self.matches else None,
            "n_repaired_pred": self.n_repaired_pred,
            "n_repaired_truth": self.n_repaired_truth,
            "n_small_pred": self.n_small_pred,
            "n_small_truth": self.n_small_truth,
            "per_image": {image: scores(c) for image, c in sorted(self.per_image.items())},
        }
        if with_matches:
            out["matches"] = [vars(m) for m in self.matches]
        return out


def match_polygons(pred: np.ndarray, truth: np.ndarray, *, iou_threshold: float = 0.5) -> list[tuple[int, int, float]]:
    """One-to-one pairs ``(pred_i, truth_j, iou)`` with ``iou >= iou_threshold``, best IoU first."""
    pred, truth = np.asarray(pred, dtype=object), np.asarray(truth, dtype=object)
    if len(pred) == 0 or len(truth) == 0:
        return []
    tree = shapely.STRtree(truth)
    pi, tj = tree.query(pred, predicate="intersects")
    if len(pi) == 0:
        return []
    inter = shapely.area(shapely.intersection(pred[pi], truth[tj]))
    union = shapely.area(pred[pi]) + shapely.area(truth[tj]) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    keep = iou >= iou_threshold
    candidates = sorted(zip(-iou[keep], pi[keep].tolist(), tj[keep].tolist(), strict=True))
    used_pred, used_truth, pairs = set(), set(), []
    for neg_iou, i, j in candidates:
        if i not in used_pred and j not in used_truth:
            used_pred.add(i)
            used_truth.add(j)
            pairs.append((i, j, float(-neg_iou)))
    return pairs


def match_in_confidence_order(
    pred: np.ndarray, truth: np.ndarray, *, iou_threshold: float = 0.5
) -> list[tuple[int, int, float]]:
    """Greedy one-to-one pairs ``(pred_i, truth_j, iou)``: each prediction, in the given order,
    takes the unmatched truth of highest IoU (the first on ties) when that IoU is > ``iou_threshold``."""
    pred, truth = np.asarray(pred, dtype=object), np.asarray(truth, dtype=object)
    if len(pred) == 0 or len(truth) == 0:
        return []
    tree = shapely.STRtree(truth)
    truth_area = shapely.area(truth)
    free = np.ones(len(truth), dtype=bool)
    pairs = []
    for i, polygon in enumerate(pred):
        candidates = np.sort(tree.query(polygon, predicate="intersects"))
        candidates = candidates[free[candidates]]
        if len(candidates) == 0:
            continue
        inter = shapely.area(shapely.intersection(polygon, truth[candidates]))
        union = shapely.area(polygon) + truth_area[candidates] - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = np.where(union > 0, inter / union, 0.0)
        best = int(np.argmax(iou))
        if iou[best] > iou_threshold:
            free[candidates[best]] = False
            pairs.append((i, int(candidates[best]), float(iou[best])))
    return pairs


def _clean(frame: gpd.GeoDataFrame, crs_for_area: Any, min_area_m2: float) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Repaired polygons, the row positions kept, repairs and small ones dropped."""
    geoms, repaired = repair_polygons(frame.geometry.values)
    keep = ~shapely.is_empty(geoms)
    n_small = 0
    if min_area_m2 > 0 and keep.any() and crs_for_area is not None:
        import geopandas as gpd

        areas = gpd.GeoSeries(geoms, crs=frame.crs).to_crs(crs_for_area).area.to_numpy()
        small = keep & (areas < min_area_m2)
        n_small = int(small.sum())
        keep &= ~small
    return geoms, np.flatnonzero(keep), repaired, n_small


def object_f1(
    pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame, *, iou_threshold: float = 0.5, min_area_m2: float = 0.0
) -> ObjectScore:
    """Score predicted footprints against true ones (GeoDataFrames; an ``image_id`` column, as
    :func:`~geovision.evaluate.vectors.read_vectors` returns, scores per image, else one image)."""
    pred, truth = (frame if "image_id" in frame else frame.assign(image_id="all") for frame in (pred, truth))
    pred, truth = common_crs(pred, truth)
    area_crs = None
    if min_area_m2 > 0:
        area_crs = metric_crs(truth, pred)
        if area_crs is None and pred.crs is None:
            raise ConfigError(
                "a minimum area in m² needs georeferenced footprints",
                fix="give --image to georeference pixel coordinates, or set --min-area 0",
            )
    pred_geoms, pred_rows, score_rep_p, small_p = _clean(pred, area_crs, min_area_m2)
    truth_geoms, truth_rows, score_rep_t, small_t = _clean(truth, area_crs, min_area_m2)
    score = ObjectScore(
        n_repaired_pred=score_rep_p, n_repaired_truth=score_rep_t, n_small_pred=small_p, n_small_truth=small_t
    )
    pred_images = pred["image_id"].to_numpy()
    truth_images = truth["image_id"].to_numpy()
    for image in sorted(set(pred_images.tolist()) | set(truth_images.tolist())):
        p_rows = pred_rows[pred_images[pred_rows] == image]
        t_rows = truth_rows[truth_images[truth_rows] == image]
        pairs = match_polygons(pred_geoms[p_rows], truth_geoms[t_rows], iou_threshold=iou_threshold)
        counts = PixelCounts(tp=len(pairs), fp=len(p_rows) - len(pairs), fn=len(t_rows) - len(pairs))
        score.per_image[str(image)] = counts
        score.counts = score.counts + counts
        score.matches += [Match(str(image), int(p_rows[i]), int(t_rows[j]), iou) for i, j, iou in pairs]
    return score

"""The SpaceNet 2 building scorer: object F1 per AOI, with its 20-pixel rule.

Follows the challenge's scorer as solaris implements it (``solaris.eval.challenges
.spacenet_buildings_2`` and ``Evaluator.eval_iou_spacenet_csv``), on SpaceNet CSVs in pixel
coordinates (``ImageId, BuildingId, PolygonWKT_Pix[, Confidence]``):

- per image, true footprints smaller than ``min_area_px`` (20) pixels are dropped, and so are
  predicted ones of ``min_area_px`` pixels or less (they count neither way);
- predictions are taken in decreasing ``Confidence`` (file order when there is no such column or
  on ties); each is matched to the unmatched true footprint of highest IoU when that IoU is
  above ``iou_threshold`` (strictly, 0.5): a true positive; otherwise a false positive. True
  footprints left unmatched are false negatives;
- counts are summed per AOI, the ImageId without its last ``_`` part (``AOI_2_Vegas_img123`` ->
  ``AOI_2_Vegas``), and overall; precision, recall and F1 are 0 where undefined, as in solaris.
  The challenge ranked on the mean of the per-AOI F1 (``mean_aoi_f1``).

Invalid polygons are repaired with ``shapely.make_valid`` first and counted (solaris does not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import shapely

from geovision.errors import ConfigError
from geovision.evaluate.objects import match_in_confidence_order
from geovision.evaluate.vectors import repair_polygons

if TYPE_CHECKING:
    import geopandas as gpd

CONFIDENCE_COLUMN = "Confidence"
MIN_AREA_PX = 20.0


@dataclass
class Counts:
    """True/false positives and false negatives with solaris' ratios (0 where undefined)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp > 0 else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn > 0 else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p * r > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


@dataclass
class SpaceNet2Score:
    """Per-image, per-AOI and overall counts of the SpaceNet 2 scorer."""

    iou_threshold: float
    min_area_px: float
    per_image: dict[str, Counts] = field(default_factory=dict)
    n_small_truth: int = 0
    n_small_pred: int = 0
    n_repaired_pred: int = 0
    n_repaired_truth: int = 0

    @property
    def per_aoi(self) -> dict[str, Counts]:
        out: dict[str, Counts] = {}
        for image, counts in sorted(self.per_image.items()):
            out[aoi_of(image)] = out.get(aoi_of(image), Counts()) + counts
        return out

    @property
    def overall(self) -> Counts:
        return sum(self.per_image.values(), Counts())

    @property
    def mean_aoi_f1(self) -> float | None:
        aois = self.per_aoi
        return float(np.mean([c.f1 for c in aois.values()])) if aois else None

    def to_dict(self) -> dict:
        return {
            "challenge": "spacenet2",
            "iou_threshold": self.iou_threshold,
            "min_area_px": self.min_area_px,
            **self.overall.to_dict(),
            "mean_aoi_f1": self.mean_aoi_f1,
            "per_aoi": {aoi: c.to_dict() for aoi, c in self.per_aoi.items()},
            "per_image": {image: c.to_dict() for image, c in sorted(self.per_image.items())},
            "n_small_truth": self.n_small_truth,
            "n_small_pred": self.n_small_pred,
            "n_repaired_pred": self.n_repaired_pred,
            "n_repaired_truth": self.n_repaired_truth,
        }


def aoi_of(image_id: str) -> str:
    """The AOI of a SpaceNet ImageId: all but its last ``_`` part (the id itself when it has none)."""
    head, sep, _ = str(image_id).rpartition("_")
    return head if sep else str(image_id)


def _check_pixel_frame(frame: gpd.GeoDataFrame, side: str) -> None:
    if frame.crs is not None:
        raise ConfigError(
            f"the SpaceNet 2 scorer works in pixel coordinates, the {side} has a CRS ({frame.crs})",
            fix="give SpaceNet CSVs with PolygonWKT_Pix and no --image",
        )


def spacenet2_score(
    pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame, *, iou_threshold: float = 0.5, min_area_px: float = MIN_AREA_PX
) -> SpaceNet2Score:
    """Score SpaceNet-format footprints (GeoDataFrames in pixel coordinates with ``image_id``, as
    :func:`~geovision.evaluate.vectors.read_vectors` returns them; ``Confidence`` optional)."""
    _check_pixel_frame(pred, "prediction")
    _check_pixel_frame(truth, "truth")
    if not 0 <= iou_threshold < 1 or min_area_px < 0:
        raise ConfigError(
            f"iou_threshold {iou_threshold} must be in [0, 1) and min_area_px {min_area_px} >= 0",
            fix="use the SpaceNet 2 values (0.5, 20) unless you mean otherwise",
        )
    pred_geoms, repaired_p = repair_polygons(pred.geometry.values)
    truth_geoms, repaired_t = repair_polygons(truth.geometry.values)
    pred_area, truth_area = shapely.area(pred_geoms), shapely.area(truth_geoms)
    keep_pred = pred_area > min_area_px
    keep_truth = truth_area >= min_area_px
    score = SpaceNet2Score(
        iou_threshold=iou_threshold,
        min_area_px=min_area_px,
        n_small_truth=int((~keep_truth & (truth_area > 0)).sum()),
        n_small_pred=int((~keep_pred & (pred_area > 0)).sum()),
        n_repaired_pred=repaired_p,
        n_repaired_truth=repaired_t,
    )
    confidence = pred[CONFIDENCE_COLUMN].to_numpy(dtype=float) if CONFIDENCE_COLUMN in pred else np.zeros(len(pred))
    order = np.argsort(-np.nan_to_num(confidence, nan=-np.inf), kind="stable")
    pred_images = pred["image_id"].astype(str).to_numpy()
    truth_images = truth["image_id"].astype(str).to_numpy()
    for image in sorted(set(pred_images.tolist()) | set(truth_images.tolist())):
        p_rows = order[(pred_images[order] == image) & keep_pred[order]]
        t_rows = np.flatnonzero((truth_images == image) & keep_truth)
        tp = len(match_in_confidence_order(pred_geoms[p_rows], truth_geoms[t_rows], iou_threshold=iou_threshold))
        score.per_image[image] = Counts(tp=tp, fp=len(p_rows) - tp, fn=len(t_rows) - tp)
    return score

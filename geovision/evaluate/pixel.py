"""Confusion counts over array elements (pixels of masks, cells of a grid), summed over many tiles.

Undefined ratios follow one rule: a 0/0 is 1.0 when prediction and truth are both empty
(nothing to find, nothing found) and 0.0 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geovision.errors import AlignmentError


def _ratio(numerator: int, denominator: int, *, empty_is_perfect: bool) -> float:
    if denominator > 0:
        return numerator / denominator
    return 1.0 if empty_is_perfect else 0.0


@dataclass
class PixelCounts:
    """True/false positives and negatives of a binary prediction; add tiles with :meth:`update`."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def update(self, pred: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None) -> PixelCounts:
        """Add one tile: ``pred`` and ``truth`` are boolean-like arrays of one shape; ``valid``
        (same shape) marks the elements to count. Returns ``self``."""
        pred = np.asarray(pred).astype(bool, copy=False)
        truth = np.asarray(truth).astype(bool, copy=False)
        if pred.shape != truth.shape or (valid is not None and np.shape(valid) != pred.shape):
            raise AlignmentError(
                f"prediction {pred.shape}, truth {truth.shape} and valid mask "
                f"{None if valid is None else np.shape(valid)} differ in shape",
                fix="read both onto one grid before counting",
            )
        if valid is not None:
            valid = np.asarray(valid).astype(bool, copy=False)
            pred, truth = pred[valid], truth[valid]
        tp = int(np.count_nonzero(pred & truth))
        n_pred, n_truth = int(np.count_nonzero(pred)), int(np.count_nonzero(truth))
        self.tp += tp
        self.fp += n_pred - tp
        self.fn += n_truth - tp
        self.tn += int(pred.size) - n_pred - n_truth + tp
        return self

    def __add__(self, other: PixelCounts) -> PixelCounts:
        return PixelCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)

    @property
    def _empty(self) -> bool:
        return self.tp == 0 and self.fp == 0 and self.fn == 0

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp, empty_is_perfect=self._empty)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn, empty_is_perfect=self._empty)

    @property
    def f1(self) -> float:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn, empty_is_perfect=True)

    @property
    def iou(self) -> float:
        return _ratio(self.tp, self.tp + self.fp + self.fn, empty_is_perfect=True)

    def to_dict(self) -> dict[str, float]:
        """Counts and ratios, ready for JSON."""
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "iou": self.iou,
        }

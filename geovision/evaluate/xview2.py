"""The xView2 (xBD) score: ``0.3 * localisation F1 + 0.7 * damage F1``.

Follows the official ``xview2_metrics.py``: masks hold 0 = no building, 1 = no damage,
2 = minor, 3 = major, 4 = destroyed. Localisation F1 compares building pixels (value > 0) over
the whole image. Damage is scored only on truth building pixels, a predicted damage counts only
where a building is predicted, and an image adds a class's counts only when that class occurs in
its truth. Each class F1 is 0 without true positives; the damage F1 is the harmonic mean of the
four class F1s (with the official ``1e-6`` guard).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geovision.evaluate.pixel import PixelCounts

DAMAGE_CLASSES = {1: "no_damage", 2: "minor_damage", 3: "major_damage", 4: "destroyed"}


def official_f1(counts: PixelCounts) -> float:
    """F1 as the xView2 scorer computes it: 0 when there is no true positive."""
    if counts.tp == 0:
        return 0.0
    return 2 * counts.tp / (2 * counts.tp + counts.fp + counts.fn)


def harmonic_mean(values: list[float], eps: float = 1e-6) -> float:
    """``len(values) / sum(1 / (v + eps))`` as in the official scorer."""
    return len(values) / sum(1.0 / (value + eps) for value in values)


@dataclass
class XView2Counts:
    """Counts for the xView2 score, summed over images (or over the windows of one image)."""

    localization: PixelCounts = field(default_factory=PixelCounts)
    damage: dict[int, PixelCounts] = field(default_factory=lambda: {c: PixelCounts() for c in DAMAGE_CLASSES})
    n_images: int = 0
    _pending: dict[int, PixelCounts] = field(default_factory=dict, repr=False)
    _present: set[int] = field(default_factory=set, repr=False)

    def update(
        self,
        pred: np.ndarray,
        truth: np.ndarray,
        *,
        pred_localization: np.ndarray | None = None,
        valid: np.ndarray | None = None,
    ) -> None:
        """Add one window of the current image (call :meth:`end_image` after its last window).

        ``pred``/``truth`` are damage masks (0-4); ``pred_localization`` is an optional separate
        building mask (non-zero = building), else ``pred > 0``; ``valid`` marks pixels to score.
        """
        pred, truth = np.asarray(pred), np.asarray(truth)
        valid = np.ones(truth.shape, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
        pred_building = (pred > 0) if pred_localization is None else (np.asarray(pred_localization) > 0)
        true_building = truth > 0
        self.localization.update(pred_building, true_building, valid)
        scored = valid & true_building
        credited = np.where(pred_building, pred, 0)[scored]
        target = truth[scored]
        for cls in DAMAGE_CLASSES:
            self._pending.setdefault(cls, PixelCounts()).update(credited == cls, target == cls)
        self._present.update(int(v) for v in np.unique(target) if int(v) in DAMAGE_CLASSES)

    def end_image(self) -> None:
        """Close the current image: keep damage counts only for classes present in its truth."""
        for cls in self._present:
            self.damage[cls] = self.damage[cls] + self._pending[cls]
        self._pending, self._present = {}, set()
        self.n_images += 1

    def add_image(
        self,
        pred: np.ndarray,
        truth: np.ndarray,
        *,
        pred_localization: np.ndarray | None = None,
        valid: np.ndarray | None = None,
    ) -> None:
        """Add one whole image."""
        self.update(pred, truth, pred_localization=pred_localization, valid=valid)
        self.end_image()

    @property
    def localization_f1(self) -> float:
        return official_f1(self.localization)

    @property
    def damage_f1s(self) -> dict[str, float]:
        return {name: official_f1(self.damage[cls]) for cls, name in DAMAGE_CLASSES.items()}

    @property
    def damage_f1(self) -> float:
        return harmonic_mean(list(self.damage_f1s.values()))

    @property
    def score(self) -> float:
        return 0.3 * self.localization_f1 + 0.7 * self.damage_f1

    def to_dict(self) -> dict:
        """The score, its parts and the counts, ready for JSON."""
        out = {
            "score": self.score,
            "localization_f1": self.localization_f1,
            "damage_f1": self.damage_f1,
            "n_images": self.n_images,
            "localization": self.localization.to_dict(),
        }
        for cls, name in DAMAGE_CLASSES.items():
            out[f"damage_f1_{name}"] = official_f1(self.damage[cls])
            out[f"damage_{name}"] = self.damage[cls].to_dict()
        return out

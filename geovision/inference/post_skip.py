"""Skip the post-event windows that cannot change the impact figures (``--skip-post-without-features``).

The DII, the lost road length and the people affected count only features present *before* the
event (``c_g``: pixels present before and missing after). A window whose pre-event chip (its crop
and its halo of ``overlap_px / 2`` pixels) holds no building or road pixel therefore adds nothing to
them, whatever its post image shows, and the model need not see that post image: its post outputs
are 0 (no feature) wherever the data is valid. The figures stay exactly those of a full run as long
as the impact stage's misregistration tolerance fits in the halo (``tolerance_px <= overlap_px / 2``).
The post masks are then no product of their own in those windows (a building built after the event,
or missed before it, is not there), so the option is off by default.

Model calls keep their size: each call runs the pre images of one batch together with the needed
post images of the batch before it (``batch_windows`` windows give up to twice as many images).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain

import numpy as np

from geovision.inference.predictor import (
    ChipProbs,
    InferenceModel,
    Sample,
    cropped_probs,
    run_images,
    stored_arrays,
    window_image,
)
from geovision.inference.runtime import Runtime

SKIPPED_KEY = "post_skipped"  # per batch: 1 for each window whose post image the model did not see
DATES = ("pre", "post")


def has_features(chip: ChipProbs, valid: np.ndarray, thresholds: dict[str, float]) -> bool:
    """True when any valid pixel of the chip reaches its task's threshold (the chip would mask a feature)."""
    return any(bool(((probs >= thresholds.get(task, 0.5)) & valid).any()) for task, probs in chip.items())


@dataclass
class _Batch:
    batch_id: int
    windows: Sequence
    samples: Sequence[Sample]
    chips: dict[tuple[int, str], ChipProbs] = field(default_factory=dict)
    post: list[int] = field(default_factory=list)  # windows whose post image still has to run

    @cached_property
    def with_data(self) -> list[int]:
        """The windows with a valid pixel (the others never reach the model)."""
        return [i for i, (_, valid) in enumerate(self.samples) if valid.any()]

    def arrays(self, model: InferenceModel) -> dict[str, np.ndarray]:
        probs = cropped_probs(DATES, self.windows, model.tasks, self.samples, self.chips)
        skipped = [int(i in self.with_data and (i, "post") not in self.chips) for i in range(len(self.windows))]
        return {**stored_arrays(DATES, model, probs), SKIPPED_KEY: np.array(skipped, np.uint8)}


def predict_skipping_post(
    reads: Iterable[tuple[int, Sequence, Sequence[Sample]]],
    runtime: Runtime,
    model: InferenceModel,
    save: Callable[[int, dict[str, np.ndarray]], None],
) -> None:
    """Predict each ``(batch_id, windows, samples)`` of a pre/post pair, running post images only where the
    pre chip has a feature; ``save(batch_id, arrays)`` gets what :func:`predict_batch` would store, plus
    :data:`SKIPPED_KEY` (the engine counts the skipped windows from the stored batches, resumed ones too)."""
    pending: _Batch | None = None
    for read in chain(reads, [None]):
        current = None if read is None else _Batch(*read)
        jobs = [(pending, i, "post") for i in pending.post] if pending else []
        jobs += [(current, i, "pre") for i in current.with_data] if current else []
        images = [window_image(batch.samples[i], date, model) for batch, i, date in jobs]
        for (batch, i, date), chip in zip(jobs, run_images(runtime, images), strict=True):
            batch.chips[(i, date)] = chip
        if pending is not None:
            save(pending.batch_id, pending.arrays(model))
        if current is not None:
            current.post = [
                i
                for i in current.with_data
                if has_features(current.chips[(i, "pre")], current.samples[i][1], model.thresholds)
            ]
        pending = current

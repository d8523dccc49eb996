"""Batches of a segmentation run: the options that tile and batch a scene, and the prediction of stored batches.

Shared by :mod:`geovision.inference.engine` (which plans the run and assembles the outputs) and
:mod:`geovision.inference.dask_backend` (which runs :func:`predict_batches` on Dask workers), so
neither imports the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from geovision import defaults
from geovision.errors import ConfigError
from geovision.inference.post_skip import DATES, predict_skipping_post
from geovision.inference.predictor import ModelRef, predict_batch, runtime_for
from geovision.inference.sources import SourceSpec
from geovision.inference.workstore import WorkStore
from geovision.io.windows import plan_windows
from geovision.progress import progress

T = TypeVar("T")


@dataclass(frozen=True)
class SegmentOptions:
    """Tiling and batching of a segmentation run."""

    chip_px: int = defaults.CHIP_PX
    overlap_px: int = defaults.OVERLAP_PX
    batch_windows: int = defaults.BATCH_WINDOWS  # 0 = auto: 1 on CPU (pre + post make a batch of 2), 8 on GPU
    skip_post_without_features: bool = False  # see geovision.inference.post_skip

    def resolved(self, device: str = "auto") -> SegmentOptions:
        """These options with ``batch_windows`` 0 (auto) replaced by the best batch for ``device``.

        Measured on a 2-core AVX-512/bf16 CPU: model batches of 2 ran 1.3-1.6x faster than
        batches of 8 (cache-bound depthwise convolutions); GPUs want large batches.
        """
        if self.batch_windows:
            return self
        from geovision.inference.runtime import pick_device

        return replace(self, batch_windows=1 if pick_device(device).type == "cpu" else 8)

    def check(self) -> None:
        if self.chip_px % 32:
            raise ConfigError(f"chip_px={self.chip_px} is not a multiple of 32", fix="use e.g. 256, 512 or 1024")
        if not 0 <= self.overlap_px < self.chip_px // 2 or self.overlap_px % 2:
            raise ConfigError(
                f"overlap_px={self.overlap_px} must be even and smaller than chip_px / 2",
                fix="use e.g. --overlap-px 64",
            )
        if self.batch_windows < 0:
            raise ConfigError("batch_windows must be at least 1 (or 0 for auto)", fix="use e.g. --batch-windows 4")


def batch_groups(n_windows: int, batch_windows: int) -> list[list[int]]:
    """The window indexes of each batch: consecutive runs of ``batch_windows`` (the last may be shorter)."""
    return [list(range(start, min(start + batch_windows, n_windows))) for start in range(0, n_windows, batch_windows)]


def predict_batches(
    source_spec: SourceSpec,
    model_ref: ModelRef,
    options: SegmentOptions,
    work_dir: str,
    batch_ids: Sequence[int],
    show_progress: bool | None = False,
) -> int:
    """Predict and store the given batches (runs in this process or on a Dask worker). Returns the count."""
    source = source_spec.open()
    windows = plan_windows(source.width, source.height, chip_px=options.chip_px, overlap_px=options.overlap_px)
    groups = batch_groups(len(windows), options.batch_windows)
    runtime, model = runtime_for(model_ref, chip_px=options.chip_px, bands=source.bands)
    store = WorkStore(work_dir)

    def read(batch_id: int) -> list[tuple[dict[str, np.ndarray], np.ndarray]]:
        return [source.read(windows[i].read) for i in groups[batch_id]]

    with ThreadPoolExecutor(max_workers=1) as reader:  # read the next batch while the model runs
        reads = progress(
            prefetched(reader, read, batch_ids), total=len(batch_ids), description="segmenting", enabled=show_progress
        )
        if options.skip_post_without_features and source.dates == DATES:
            batches = ((b, [windows[i] for i in groups[b]], samples) for b, samples in reads)
            predict_skipping_post(batches, runtime, model, store.save)
        else:
            for batch_id, samples in reads:
                batch_windows = [windows[i] for i in groups[batch_id]]
                store.save(batch_id, predict_batch(source, batch_windows, runtime, model, samples))
    return len(batch_ids)


def prefetched(reader: Executor, read: Callable[[int], T], batch_ids: Sequence[int]) -> Iterator[tuple[int, T]]:
    """``(batch_id, read(batch_id))`` in order, each next read already running in ``reader``."""
    pending = reader.submit(read, batch_ids[0]) if batch_ids else None
    for position, batch_id in enumerate(batch_ids):
        assert pending is not None
        result = pending.result()
        if position + 1 < len(batch_ids):
            pending = reader.submit(read, batch_ids[position + 1])
        yield batch_id, result

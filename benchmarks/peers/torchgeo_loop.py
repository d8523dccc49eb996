"""TorchGeo's standard inference loop, a peer of ``benchmarks/inference_throughput.py``.

    .venv-peers/bin/python benchmarks/peers/torchgeo_loop.py --pre pre.tif --post post.tif --out DIR

Run by the peer virtualenv (``make bench-peers``: torchgeo is no dependency of geovision), in a
subprocess of the benchmark. The loop, as TorchGeo's docs and tutorials show it: per date (pre, then
post) a ``RasterDataset`` over the GeoTIFF, a ``GridGeoSampler`` of 512 px chips at stride 448
(64 px overlap, like geovision), a ``DataLoader`` with ``stack_samples``; the same model as the
benchmark's other methods (the bundle loaded with geovision's own loader: eager fp32, eval,
``torch.inference_mode``), normalised with the bundle's mean/std, thresholded with its per-task
thresholds, and each chip's centre (``overlap / 2`` trimmed where a neighbouring chip covers it)
written into a GeoTIFF per task and date at its window (rasterio windowed writes).

Prints ``RESULT {json}``: seconds (from building the datasets to the last mask closed; the model is
loaded before, as in the baseline), output pixels, peak RSS and per-stage seconds (``index``:
datasets and samplers; ``load``: waiting on the DataLoader, i.e. sampling, reading and stacking;
``model``: normalisation and forward pass; ``write``: thresholds and windowed writes).

The pure helpers here (chip crops, seams, mask agreement) import neither torch nor torchgeo, so the
benchmark (geovision's venv) and the fast tests use them too.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

CHIP_PX = 512
STRIDE_PX = 448  # 64 px overlap, as geovision's default
DATES = ("pre", "post")


# -- pure helpers (no torch, no torchgeo) ------------------------------------------------------


def chip_origin(x_start: float, y_stop: float, left: float, top: float, res: float) -> tuple[int, int]:
    """Pixel (col, row) of a chip's top-left corner, from the sampler's x start and y stop (CRS units)."""
    return round((x_start - left) / res), round((top - y_stop) / res)


def crop_span(start: int, *, size: int, overlap: int, extent: int) -> tuple[int, int]:
    """One axis of :func:`chip_crop`: ``[lo, hi)`` of the chip starting at ``start`` (may be empty)."""
    half = overlap // 2
    lo = start + half if start > 0 else start
    hi = start + size - half if start + size < extent else start + size
    return max(lo, 0), min(hi, extent)


def chip_crop(
    col: int, row: int, *, size: int, overlap: int, width: int, height: int
) -> tuple[int, int, int, int] | None:
    """The part of the chip at (col, row) it writes: ``(col, row, w, h)`` in scene pixels, or None.

    ``overlap / 2`` is trimmed on each side where the grid has a neighbouring chip (the side lies
    inside the scene), so that the crops of a ``GridGeoSampler`` grid tile the scene once; the
    result is clipped to the scene.
    """
    x0, x1 = crop_span(col, size=size, overlap=overlap, extent=width)
    y0, y1 = crop_span(row, size=size, overlap=overlap, extent=height)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1 - x0, y1 - y0


def torchgeo_starts(width: int, height: int, *, size: int = CHIP_PX, stride: int = STRIDE_PX):
    """Pixel chip origins of ``GridGeoSampler`` over one north-up tile: columns from the left edge,
    rows from the bottom edge upwards (``torchgeo.samplers.utils.tile_to_chips``: the last chip may
    run past the far edge). Returns ``(cols, rows)``; empty when the tile is smaller than a chip."""
    if width < size or height < size:
        return [], []
    n_cols = math.ceil((width - size) / stride) + 1
    n_rows = math.ceil((height - size) / stride) + 1
    return [j * stride for j in range(n_cols)], [height - size - i * stride for i in range(n_rows)]


def crop_seams(starts: Sequence[int], *, size: int, overlap: int, extent: int) -> list[int]:
    """Where the crops of chips starting at ``starts`` (one axis) meet, in pixels."""
    seams = set()
    for start in starts:
        for edge in crop_span(start, size=size, overlap=overlap, extent=extent):
            if 0 < edge < extent:
                seams.add(edge)
    return sorted(seams)


def interior_mask(height: int, width: int, row_seams: Sequence[int], col_seams: Sequence[int], margin: int):
    """bool ``[height, width]``: True at least ``margin`` px from every seam (rows and columns)."""
    import numpy as np

    rows = np.ones(height, bool)
    cols = np.ones(width, bool)
    for seam in row_seams:
        rows[max(seam - margin, 0) : seam + margin] = False
    for seam in col_seams:
        cols[max(seam - margin, 0) : seam + margin] = False
    return rows[:, None] & cols[None, :]


def mask_agreement(pairs: dict[str, tuple[str, str]], interior=None, strip_rows: int = 1024) -> dict:
    """Share of differing pixels between two methods' masks, per name and pooled.

    ``pairs``: ``{name: (mask_a.tif, mask_b.tif)}``, uint8 masks on the same grid (values other than
    0/1, e.g. nodata 255, count as 0). ``interior``: optional bool mask of the pixels to count in
    ``interior`` (e.g. :func:`interior_mask`, away from both methods' seams). Read in strips of rows.
    """
    import rasterio
    from rasterio.windows import Window

    out: dict = {"per_mask": {}}
    totals = {"all": [0, 0], "interior": [0, 0]}
    for name, (path_a, path_b) in pairs.items():
        counts = {"all": [0, 0], "interior": [0, 0]}
        with rasterio.open(path_a) as a, rasterio.open(path_b) as b:
            if (a.width, a.height) != (b.width, b.height):
                raise ValueError(f"{name}: {a.width}x{a.height} against {b.width}x{b.height}")
            for row in range(0, a.height, strip_rows):
                window = Window(0, row, a.width, min(strip_rows, a.height - row))
                differ = (a.read(1, window=window) == 1) != (b.read(1, window=window) == 1)
                counts["all"][0] += int(differ.sum())
                counts["all"][1] += differ.size
                if interior is not None:
                    keep = interior[row : row + window.height]
                    counts["interior"][0] += int(differ[keep].sum())
                    counts["interior"][1] += int(keep.sum())
        out["per_mask"][name] = _shares(counts, interior is not None)
        for key in totals:
            totals[key][0] += counts[key][0]
            totals[key][1] += counts[key][1]
    return {**_shares(totals, interior is not None), **out}


def _shares(counts: dict[str, list[int]], with_interior: bool) -> dict:
    def share(differ: int, total: int) -> float | None:
        return differ / total if total else None

    out = {"differ_share": share(*counts["all"])}
    if with_interior:
        out["differ_share_interior"] = share(*counts["interior"])
    return out


def peak_rss_mb() -> float:
    """Peak RSS of this process and its finished children (DataLoader workers), MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


# -- the loop (torch, torchgeo) ----------------------------------------------------------------


def run(
    pre: str,
    post: str,
    out_dir: str,
    bundle: str,
    *,
    batch_size: int = 2,
    workers: int = 0,
    chip_px: int = CHIP_PX,
    stride_px: int = STRIDE_PX,
) -> dict:
    """TorchGeo's standard loop over both dates (see the module docstring); returns the figures."""
    import numpy as np
    import rasterio
    import torch
    import torchgeo
    from rasterio.windows import Window
    from torch.utils.data import DataLoader
    from torchgeo.datasets import RasterDataset, stack_samples
    from torchgeo.samplers import GridGeoSampler

    from geovision.models.bundle import load_bundle

    loaded = load_bundle(bundle)
    model, meta = loaded.model.eval(), loaded.meta
    tasks = tuple(meta.architecture.tasks)
    thresholds = {task: float(meta.thresholds.get(task, 0.5)) for task in tasks}
    mean = torch.tensor(meta.normalization.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(meta.normalization.std, dtype=torch.float32).view(1, -1, 1, 1)
    overlap = chip_px - stride_px

    stages = dict.fromkeys(("index", "load", "model", "write"), 0.0)
    chips = pixels = 0
    started = time.perf_counter()
    for date, path in (("pre", pre), ("post", post)):
        t = time.perf_counter()
        dataset = RasterDataset(paths=path)
        sampler = GridGeoSampler(dataset, size=chip_px, stride=stride_px)
        loader = DataLoader(
            dataset, sampler=sampler, batch_size=batch_size, num_workers=workers, collate_fn=stack_samples
        )
        with rasterio.open(path) as src:
            width, height, transform, crs = src.width, src.height, src.transform, src.crs
        profile = dict(
            driver="GTiff",
            width=width,
            height=height,
            count=1,
            dtype="uint8",
            crs=crs,
            transform=transform,
            tiled=True,
            blockxsize=512,
            blockysize=512,
            compress="deflate",
        )
        outputs = {task: rasterio.open(Path(out_dir) / f"{task}_{date}.tif", "w", **profile) for task in tasks}
        stages["index"] += time.perf_counter() - t

        t = time.perf_counter()
        for batch in loader:
            stages["load"] += time.perf_counter() - t
            t = time.perf_counter()
            with torch.inference_mode():
                logits = model((batch["image"] - mean) / std)
            stages["model"] += time.perf_counter() - t
            t = time.perf_counter()
            for i, (x, y, _) in enumerate(batch["bounds"]):
                col, row = chip_origin(x.start, y.stop, transform.c, transform.f, transform.a)
                crop = chip_crop(col, row, size=chip_px, overlap=overlap, width=width, height=height)
                if crop is None:
                    continue
                c0, r0, w, h = crop
                for task, out in outputs.items():
                    prob = torch.sigmoid(logits[task][i, 0, r0 - row : r0 - row + h, c0 - col : c0 - col + w])
                    out.write((prob >= thresholds[task]).numpy().astype(np.uint8), 1, window=Window(c0, r0, w, h))
                pixels += w * h
                chips += 1
            stages["write"] += time.perf_counter() - t
            t = time.perf_counter()
        t = time.perf_counter()
        for out in outputs.values():
            out.close()
        stages["write"] += time.perf_counter() - t
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "pixels": pixels,
        "peak_rss_mb": peak_rss_mb(),
        "chips": chips,
        "stages": stages,
        "batch_size": batch_size,
        "workers": workers,
        "torchgeo_version": torchgeo.__version__,
        "torch_version": torch.__version__,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pre", required=True)
    parser.add_argument("--post", required=True)
    parser.add_argument("--out", required=True, help="folder for the masks ({task}_{date}.tif)")
    parser.add_argument("--bundle", required=True, help="model bundle folder")
    parser.add_argument("--batch-size", type=int, default=2, help="chips per model call (geovision's CPU batch: 2)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    args = parser.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    result = run(args.pre, args.post, args.out, args.bundle, batch_size=args.batch_size, workers=args.workers)
    print("RESULT", json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

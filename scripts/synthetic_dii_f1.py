#!/usr/bin/env python
"""Grid F1 of the DII from the true masks of synthetic events, against their truth layers.

    python scripts/synthetic_dii_f1.py                      # 3 events x 4 seeds, 2048 px: ~3 minutes
    python scripts/synthetic_dii_f1.py --events tornado --seeds 0 7 --size 4096

For each scene (``geovision.synth``): DII of ``buildings_pre.tif`` / ``buildings_post.tif``
(256 px cells, theta 0.1, tolerance 2 px, the defaults of ``geovision impact``), scored against
``affected_area.gpkg`` (the true affected region), over every cell and over unambiguous cells
only (``exclude_mixed``: cells the region's boundary cuts are left out). Prints a Markdown table
and the pooled F1 (TP/FP/FN summed over scenes); "n/a" where a scene has no positive cell.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from geovision.evaluate.grid import grid_f1
from geovision.impact.workflow import dii_from_files, read_truth_grid
from geovision.synth import generate_event

TRUTHS = ("affected_area",)


def scene_scores(folder: Path, *, cell_px: int, theta: float) -> dict[tuple[str, bool], dict]:
    """(truth layer, exclude_mixed) -> grid scores of one synthetic scene."""
    grid = dii_from_files(
        folder / "buildings_pre.tif",
        folder / "buildings_post.tif",
        cell_px=cell_px,
        tau=0.5,
        theta=theta,
        tolerance_px=2,
    )
    out = {}
    for truth in TRUTHS:
        for exclude_mixed in (False, True):
            true = read_truth_grid(folder / f"{truth}.gpkg", grid, exclude_mixed=exclude_mixed)
            out[truth, exclude_mixed] = grid_f1(grid["impacted"], true)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", nargs="+", default=["tornado", "fire", "flood"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 7, 11, 23])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--cell-px", type=int, default=256)
    parser.add_argument("--theta", type=float, default=0.1)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for event in args.events:
            for seed in args.seeds:
                scene = generate_event(
                    Path(tmp) / f"{event}-{seed}", width=args.size, height=args.size, seed=seed, event=event
                )
                rows.append((event, seed, scene_scores(scene.out_dir, cell_px=args.cell_px, theta=args.theta)))
    for truth in TRUTHS:
        print(f"\n### truth: {truth}.gpkg ({args.size} px scenes, {args.cell_px} px cells, theta {args.theta})\n")
        print("| event | seed | F1 all cells (TP/FP/FN) | F1 unambiguous cells (TP/FP/FN) |")
        print("|---|---|---|---|")
        pooled = {False: np.zeros(3), True: np.zeros(3)}
        for event, seed, scores in rows:
            cells = []
            for exclude in (False, True):
                s = scores[truth, exclude]
                counts = np.array([s["tp"], s["fp"], s["fn"]], dtype=float)
                pooled[exclude] += counts
                f1 = f"{s['f1']:.3f}" if counts.sum() else "n/a"
                cells.append(f"{f1} ({int(counts[0])}/{int(counts[1])}/{int(counts[2])})")
            print(f"| {event} | {seed} | {cells[0]} | {cells[1]} |")
        f1 = {k: 2 * v[0] / max(2 * v[0] + v[1] + v[2], 1) for k, v in pooled.items()}
        print(f"| pooled | | {f1[False]:.3f} | {f1[True]:.3f} |")


if __name__ == "__main__":
    main()

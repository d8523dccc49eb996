"""Peak memory and time of ``geovision synth`` at several scene sizes (each in a fresh subprocess).

Usage: ``python benchmarks/synth_memory.py [--sizes 1024 4096 20000] [--event tornado] [--seed 1]``.
Prints, per size, peak RSS of the generating process, wall time, output size, and the ratios
to the smallest size measured in this run. Acceptance: peak RSS for 20000 px under 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from geovision.synth import generate_event
size, event, seed, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
start = time.perf_counter()
result = generate_event(out, width=size, height=size, seed=seed, event=event)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "buildings": result.counts["buildings"]}))
"""


def measure(size: int, event: str, seed: int) -> dict:
    """Run one generation in a subprocess; return its peak RSS (MB), seconds and output size (MB)."""
    with tempfile.TemporaryDirectory(prefix="synth_bench_") as tmp:
        out = Path(tmp) / "event"
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(size), event, str(seed), str(out)],
            check=True,
            capture_output=True,
            text=True,
        )
        stats = json.loads(done.stdout.strip().splitlines()[-1])
        stats["output_mb"] = sum(f.stat().st_size for f in out.iterdir()) / 2**20
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096, 20000])
    parser.add_argument("--event", default="tornado", choices=["tornado", "fire", "flood"])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rows = []
    for size in sorted(args.sizes):
        begin = time.perf_counter()
        stats = measure(size, args.event, args.seed)
        stats["size"] = size
        rows.append(stats)
        print(
            f"{size:>6} px: peak RSS {stats['peak_rss_mb']:8.1f} MB, {stats['seconds']:8.1f} s "
            f"({(time.perf_counter() - begin):.1f} s with start-up), {stats['buildings']} buildings, "
            f"outputs {stats['output_mb']:.1f} MB",
            flush=True,
        )
    base = rows[0]
    for row in rows[1:]:
        pixels = (row["size"] / base["size"]) ** 2
        print(
            f"{row['size']} vs {base['size']} px: pixels x{pixels:.1f}, peak RSS x"
            f"{row['peak_rss_mb'] / base['peak_rss_mb']:.2f}, time x{row['seconds'] / base['seconds']:.1f}"
        )
    worst = max(rows, key=lambda r: r["size"])
    verdict = "PASS" if worst["peak_rss_mb"] < 1536 else "FAIL"
    print(f"{verdict}: peak RSS at {worst['size']} px = {worst['peak_rss_mb']:.0f} MB (limit 1536 MB)")


if __name__ == "__main__":
    main()

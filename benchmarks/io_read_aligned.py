"""Peak memory of reading aligned windows from a large pre/post pair (not a test).

Generates (once, window by window) a SIZE x SIZE uint8 RGB pre raster in UTM 15N at 0.3 m and a
post raster in EPSG:4326 at ~0.5 m covering most of it with a sub-pixel offset, then reads every
aligned chip (``align_pair`` + ``plan_windows``) in a fresh process and prints its peak RSS.

    .venv/bin/python benchmarks/io_read_aligned.py --size 20000 --workdir /tmp/gv_bench
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer

UTM, X0, Y0, PRE_RES = "EPSG:32615", 365_800.0, 4_103_200.0, 0.3
GTIFF = dict(
    driver="GTiff",
    count=3,
    dtype="uint8",
    tiled=True,
    blockxsize=512,
    blockysize=512,
    compress="deflate",
    bigtiff="IF_SAFER",
)


def _pattern(col0: int, row0: int, width: int, height: int, seed: int) -> np.ndarray:
    rows, cols = np.ogrid[row0 : row0 + height, col0 : col0 + width]
    base = ((rows // 16 + cols // 16 + seed) % 200).astype(np.uint8)
    return np.stack([base, base // 2 + 20, 255 - base])


def _write(path: Path, width: int, height: int, crs: str, transform: Affine, seed: int) -> None:
    with rasterio.open(path, "w", width=width, height=height, crs=crs, transform=transform, **GTIFF) as dst:
        for row in range(0, height, 512):
            h = min(512, height - row)
            dst.write(_pattern(0, row, width, h, seed), window=((row, row + h), (0, width)))


def make_pair(workdir: Path, size: int) -> tuple[Path, Path]:
    """The pre (UTM) and post (lon/lat) rasters; reused when they already exist."""
    workdir.mkdir(parents=True, exist_ok=True)
    pre, post = workdir / f"pre_{size}.tif", workdir / f"post_{size}.tif"
    if not pre.exists():
        _write(pre, size, size, UTM, Affine(PRE_RES, 0, X0, 0, -PRE_RES, Y0), seed=0)
    if not post.exists():
        to_lonlat = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
        extent_m = size * PRE_RES
        lon0, lat0 = to_lonlat.transform(X0 + 0.05 * extent_m + 0.13, Y0 - 0.03 * extent_m - 0.07)
        lon1, lat1 = to_lonlat.transform(X0 + extent_m, Y0 - extent_m)
        post_px = int(size * PRE_RES / 0.5)
        _write(
            post,
            post_px,
            post_px,
            "EPSG:4326",
            Affine((lon1 - lon0) / post_px, 0, lon0, 0, (lat1 - lat0) / post_px, lat0),
            seed=7,
        )
    return pre, post


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def read_all(pre: Path, post: Path, chip_px: int, overlap_px: int, max_windows: int | None) -> dict:
    """Runs in a fresh process: read every aligned chip, return counts, time and peak RSS."""
    from geovision.io.align import align_pair
    from geovision.io.windows import plan_windows

    start_rss = _peak_rss_mb()
    start = time.perf_counter()
    valid_px = 0
    with rasterio.Env(GDAL_CACHEMAX=256 * 2**20), align_pair(pre, post, scaling="dtype") as pair:
        chips = plan_windows(pair.width, pair.height, chip_px=chip_px, overlap_px=overlap_px)
        if max_windows:
            chips = chips[:: max(1, len(chips) // max_windows)][:max_windows]
        for chip in chips:
            valid_px += int(pair.read(chip.read)["valid"].sum())
        grid = (pair.width, pair.height, pair.res_m, pair.crs.to_string())
    return dict(
        grid=grid,
        windows=len(chips),
        valid_px=valid_px,
        seconds=time.perf_counter() - start,
        rss_before_mb=start_rss,
        peak_rss_mb=_peak_rss_mb(),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/geovision_bench_io"))
    parser.add_argument("--chip-px", type=int, default=1024)
    parser.add_argument("--overlap-px", type=int, default=128)
    parser.add_argument("--max-windows", type=int, default=None, help="read only this many chips, spread out")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    pre, post = make_pair(args.workdir, args.size)
    print(
        f"pair ready in {time.perf_counter() - start:.0f} s: {pre} ({pre.stat().st_size / 2**20:.0f} MiB), "
        f"{post} ({post.stat().st_size / 2**20:.0f} MiB)"
    )
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        stats = pool.apply(read_all, (pre, post, args.chip_px, args.overlap_px, args.max_windows))
    width, height, res, crs = stats["grid"]
    pair_mb = 2 * 3 * width * height * 4 / 2**20  # both dates as float32 [3, h, w]
    chip_mb = 2 * 3 * args.chip_px**2 * 4 / 2**20
    print(f"aligned grid {width}x{height} at {res:g} m ({crs}); {stats['windows']} chips of {args.chip_px} px")
    print(
        f"read {stats['valid_px'] / 1e6:.0f} M valid px in {stats['seconds']:.0f} s "
        f"({width * height / 1e6 / stats['seconds']:.1f} Mpx/s of grid)"
    )
    print(
        f"peak RSS {stats['peak_rss_mb']:.0f} MiB (after imports {stats['rss_before_mb']:.0f} MiB); "
        f"whole aligned pair as float32 would be {pair_mb:.0f} MiB: ratio {stats['peak_rss_mb'] / pair_mb:.3f}; "
        f"one chip pair {chip_mb:.0f} MiB"
    )
    print("PASS: under 1 GB" if stats["peak_rss_mb"] < 1000 else "FAIL: 1 GB or more", file=sys.stdout)


if __name__ == "__main__":
    main()

"""benchmarks/inference_throughput.py and its TorchGeo peer: the helpers that make the figures honest.

The peer's loop itself needs torchgeo (``make bench-peers``); its pure helpers (which chip writes
which pixels, where the seams are, how many mask pixels differ) run here, and so does the whole
benchmark on a tiny scene without the peer.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.rasters import write_geotiff

ROOT = Path(__file__).resolve().parents[2]


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


peer = load(ROOT / "benchmarks" / "peers" / "torchgeo_loop.py")
bench = load(ROOT / "benchmarks" / "inference_throughput.py")


@pytest.mark.parametrize(("width", "height"), [(512, 512), (1000, 900), (2048, 1500), (1401, 513)])
def test_the_peer_writes_every_pixel_exactly_once(width, height):
    cols, rows = peer.torchgeo_starts(width, height, size=512, stride=448)
    written = np.zeros((height, width), np.int32)
    for row in rows:
        for col in cols:
            crop = peer.chip_crop(col, row, size=512, overlap=64, width=width, height=height)
            if crop is not None:
                c0, r0, w, h = crop
                assert col <= c0 and c0 + w <= col + 512 and row <= r0 and r0 + h <= row + 512  # inside its chip
                written[r0 : r0 + h, c0 : c0 + w] += 1
    assert (written == 1).all()


def test_gridgeosampler_starts_cover_the_tile_from_the_bottom_left():
    cols, rows = peer.torchgeo_starts(1000, 900, size=512, stride=448)
    assert cols == [0, 448, 896] and rows == [388, -60]  # rows from the bottom edge up; last chips overhang
    assert peer.torchgeo_starts(500, 900, size=512, stride=448) == ([], [])  # smaller than a chip: nothing


def test_seams_and_the_interior_away_from_them():
    seams = peer.crop_seams([0, 448, 896], size=512, overlap=64, extent=1200)
    assert seams == [480, 928]
    interior = peer.interior_mask(4, 1200, [], seams, margin=32)
    assert not interior[:, 448:512].any() and interior[:, 447].all() and interior[:, 512].all()


def test_mask_agreement_counts_differing_pixels(tmp_path):
    a = np.zeros((1, 64, 64), np.uint8)
    b = a.copy()
    b[0, :8, :] = 1  # 512 of 4096 pixels differ
    b[0, 40, 40] = 255  # nodata counts as background: no difference
    pairs = {"buildings_pre": (str(write_geotiff(tmp_path / "a.tif", a)), str(write_geotiff(tmp_path / "b.tif", b)))}
    interior = np.zeros((64, 64), bool)
    interior[32:] = True
    figures = peer.mask_agreement(pairs, interior, strip_rows=16)
    assert figures["differ_share"] == pytest.approx(512 / 4096)
    assert figures["differ_share_interior"] == 0.0
    assert figures["per_mask"]["buildings_pre"]["differ_share"] == pytest.approx(512 / 4096)


def test_ratios_tables_and_the_best_of_repeats():
    first = {"seconds": 10.0, "pixels": 20_000_000, "peak_rss_mb": 900.0, "stages": {"predict": 8.0}}
    second = {**first, "seconds": 8.0, "peak_rss_mb": 800.0}
    results = {
        "size": 1000,
        "gsd_m": 0.5,
        "bundle": "b",
        "baseline": {"seconds": 40.0, "pixels": 20_000_000, "peak_rss_mb": 700.0},
        "torchgeo": {"seconds": 60.0, "pixels": 20_000_000, "peak_rss_mb": 1500.0},
        "geovision": bench.best(bench.best(None, first), second),
        "geovision_small": {"seconds": 2.5, "pixels": 5_000_000, "peak_rss_mb": 700.0},
    }
    assert results["geovision"]["seconds"] == 8.0 and results["geovision"]["peak_rss_mb"] == 900.0
    assert results["geovision"]["all_seconds"] == [10.0, 8.0]
    ratios = bench.summarize(results)["ratios"]
    assert ratios["geovision/baseline"] == pytest.approx(5.0) and ratios["geovision/torchgeo"] == pytest.approx(7.5)
    assert ratios["peak_rss_full/small"] == pytest.approx(900 / 700)
    assert results["geovision"]["km2_per_hour"] == pytest.approx(2.5 * 0.25 * 3600 / 2)
    table = bench.markdown_table(results)
    assert "| 1000 x 1000 px pair at 0.5 m | baseline | torchgeo | geovision |" in table
    assert "5.00x baseline, 7.50x torchgeo" in table
    assert any("7.50x" in line for line in bench.report_lines(results))


def test_a_missing_peer_venv_is_said_not_faked(monkeypatch, tmp_path):
    monkeypatch.setattr(bench, "PEERS_PYTHON", tmp_path / "no-venv" / "bin" / "python")
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    run, why = bench.peers_available(None)
    assert not run and "make bench-peers" in why
    with pytest.raises(SystemExit, match="make bench-peers"):
        bench.peers_available(True)
    assert bench.peers_available(False) == (False, None)


@pytest.mark.slow
def test_the_benchmark_runs_end_to_end_on_a_tiny_scene(tmp_path):
    out = tmp_path / "results.json"
    args = ["--size", "512", "--work", str(tmp_path / "work"), "--no-peers", "--out", str(out)]
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "inference_throughput.py"), *args], check=True)
    results = json.loads(out.read_text())
    assert {"baseline", "geovision", "geovision_small"} <= set(results) and "torchgeo" not in results
    assert results["baseline"]["pixels"] == results["geovision"]["pixels"] == 2 * 512 * 512
    assert results["ratios"]["geovision/baseline"] > 0
    assert 0 <= results["agreement"]["baseline"]["differ_share"] < 0.5
    assert out.with_suffix(".md").read_text().startswith("| 512 x 512 px pair")


def test_the_peak_line_uses_the_fastest_native_matmul():
    peak = {"matmul_fp32_gflops": 100.0, "model_gflop_per_mp": 20.0}
    line = bench.peak_line(peak, 2.0)
    assert "no native bf16" in line and "40% of the fp32 peak" in line
    line = bench.peak_line({**peak, "matmul_bf16_gflops": 400.0}, 2.0)
    assert "bf16 400 GFLOP/s" in line and "10% of the bf16 peak" in line


def test_machine_peak_measures_bf16_only_where_it_is_native(monkeypatch):
    import torch

    import geovision.inference.runtime as runtime

    timed = []
    monkeypatch.setattr(bench, "matmul_gflops", lambda dtype, **_: timed.append(dtype) or 1.0)
    monkeypatch.setattr(runtime, "bf16_supported", lambda device: False)
    assert "matmul_bf16_gflops" not in bench.machine_peak() and timed == [torch.float32]
    monkeypatch.setattr(runtime, "bf16_supported", lambda device: True)
    assert bench.machine_peak()["matmul_bf16_gflops"] == 1.0


def test_matmul_gflops_stops_after_its_time():
    import time

    import torch

    started = time.perf_counter()
    assert bench.matmul_gflops(torch.float32, size=256, seconds=0.05, max_reps=10_000) > 0
    assert time.perf_counter() - started < 5

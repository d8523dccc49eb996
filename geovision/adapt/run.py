"""``geovision adapt``: fine-tune a model on an event's own pre-event imagery from existing map data.

1. The labelled area (``area`` polygons, else the labels' extent) is cut from each image in the
   model's 8-bit units, exactly as the inference engine reads it (band choice, ``to8bit`` stretch).
2. Buildings and roads are rasterised on that grid and the area is split into square blocks; one
   block in four (a diagonal pattern) is held out for validation, never a random pixel.
3. The model is fine-tuned on the training blocks with the weak-label loss
   (:mod:`geovision.pretrain.weak`: shifts of a few metres and missing buildings tolerated) for as
   many steps as fit the time budget (measured on this machine first).
4. Base and adapted models segment the area through the production engine and are scored on the
   held-out blocks (pixel IoU per task, building object F1; :func:`validation_scores`): the adapted
   bundle is written only when its score is higher, otherwise the base is kept.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine

from geovision import defaults
from geovision.adapt.labels import LabelSet, label_licence, read_labels, road_corridors
from geovision.errors import ConfigError, NoOverlapError, OutputExistsError
from geovision.io.atomic import atomic_output
from geovision.io.labels import rasterize_vectors
from geovision.io.raster import open_raster
from geovision.io.vectors import read_vectors
from geovision.types import PixelWindow

log = logging.getLogger(__name__)

IGNORE = 255
OBJECT_MIN_M2 = 5.0  # footprints smaller than this are left out of the held-out object F1 (as in benchmarks/)
MIN_POSITIVE_PX = 400  # labelled feature pixels (at the model's GSD) needed in the training blocks
READ_PX = 2048


@dataclass(frozen=True)
class AdaptOptions:
    minutes: float = defaults.ADAPT_MINUTES
    block_m: float = 64.0
    batch_size: int = 8
    chip_px: int = 256
    lr: float = 3e-4
    max_shift_m: float = 2.0
    negative_weight: float = 0.5
    ignore_edge_px: int = 1  # no loss this close to a label edge (footprints drawn a little off)
    gap_m: float = 0.0  # background in gaps narrower than 2 x gap_m between footprints weighs gap_weight
    gap_weight: float = 1.0
    licence: str | None = None
    seed: int = 0


@dataclass
class AdaptResult:
    out: Path
    adapted: bool
    base: dict[str, float]
    after: dict[str, float]
    steps: int
    seconds: float
    tasks: list[str] = field(default_factory=list)


@dataclass
class Crop:
    """One image's labelled area: the 8-bit crop and its train/validation label rasters."""

    image: Path
    labels_train: dict[str, Path]
    labels_val: dict[str, Path]
    positives: dict[str, int]


def _area(area: str | None, labels: LabelSet, crs) -> shapely.Geometry:
    if area is not None:
        frame = read_vectors(area)
        polygons = frame[frame.geometry.geom_type.isin(("Polygon", "MultiPolygon"))]
        if polygons.empty:
            raise ConfigError("the area file holds no polygons", path=area, fix="draw the labelled area as polygons")
        return shapely.union_all(polygons.to_crs(crs).geometry.values)
    frames = [f.to_crs(crs) for f in (labels.buildings, labels.roads) if len(f)]
    xmin = min(f.total_bounds[0] for f in frames)
    ymin = min(f.total_bounds[1] for f in frames)
    xmax = max(f.total_bounds[2] for f in frames)
    ymax = max(f.total_bounds[3] for f in frames)
    return shapely.box(xmin, ymin, xmax, ymax)


def _validation_blocks(height: int, width: int, block_px: int) -> np.ndarray:
    """True on held-out blocks: every fourth block along each diagonal."""
    rows = np.arange(height)[:, None] // block_px
    cols = np.arange(width)[None, :] // block_px
    return (rows + 2 * cols) % 4 == 0


def _write(
    path: Path,
    array: np.ndarray,
    transform: Affine,
    crs,
    *,
    nodata: float | None = None,
    mask: np.ndarray | None = None,
) -> Path:
    array = array[None] if array.ndim == 2 else array
    profile = {
        "driver": "GTiff",
        "width": array.shape[2],
        "height": array.shape[1],
        "count": array.shape[0],
        "dtype": array.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "compress": "deflate",
    }
    if array.shape[0] == 3:
        profile["photometric"] = "RGB"
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(array)
            if mask is not None:
                dst.write_mask(mask.astype(np.uint8) * 255)
    return path


def prepare_crop(
    pre: str,
    labels: LabelSet,
    *,
    area: str | None,
    model_bands: tuple[str, ...],
    gsd_m: float,
    work: Path,
    index: int,
    block_m: float,
    labels_path: str,
) -> Crop:
    """Cut the labelled area of ``pre`` and rasterise its labels, split into train/validation blocks."""
    from geovision.inference.sources import SourceSpec

    scaling = SourceSpec(pre=pre).input_scaling
    with open_raster(pre, scaling=scaling, model_bands=model_bands) as raster:
        region = _area(area, labels, raster.crs)
        image_box = shapely.box(*raster.bounds)
        if not region.intersects(image_box) or region.intersection(image_box).area <= 0:
            raise NoOverlapError(
                "the labels do not overlap the image",
                path=area or labels_path,
                fix=f"give labels (or --area) inside the image {pre}",
            )
        inverse = ~raster.transform
        xmin, ymin, xmax, ymax = region.intersection(image_box).bounds
        (ca, ra), (cb, rb) = inverse @ (xmin, ymin), inverse @ (xmax, ymax)
        col0, row0 = max(0, math.floor(min(ca, cb))), max(0, math.floor(min(ra, rb)))
        col1, row1 = min(raster.width, math.ceil(max(ca, cb))), min(raster.height, math.ceil(max(ra, rb)))
        window = PixelWindow(col0, row0, col1 - col0, row1 - row0)
        transform = raster.transform @ Affine.translation(col0, row0)
        image = np.zeros((raster.count, window.height, window.width), np.uint8)
        valid = np.zeros((window.height, window.width), bool)
        for top in range(0, window.height, READ_PX):
            part = PixelWindow(col0, row0 + top, window.width, min(READ_PX, window.height - top))
            data, ok = raster.read(part)
            image[:, top : top + part.height] = np.clip(np.round(data), 0, 255).astype(np.uint8)
            valid[top : top + part.height] = ok
        crs, res_m = raster.crs, abs(raster.transform.a)
    inside = (
        rasterize_vectors(
            gpd.GeoDataFrame(geometry=[region], crs=crs), transform=transform, width=window.width, height=window.height
        )
        > 0
    )
    known = inside & valid
    metres_per_px = res_m if crs.is_projected else res_m * 111_320.0
    held_out = _validation_blocks(window.height, window.width, max(8, round(block_m / metres_per_px)))
    folder = work / f"image_{index}"
    folder.mkdir(parents=True, exist_ok=True)
    crop = _write(folder / "image.tif", image, transform, crs, mask=valid)
    targets = {
        "buildings": _building_mask(labels, crs, transform, window),
        "roads": _road_mask(labels, crs, transform, window),
    }
    train, val, positives = {}, {}, {}
    scale = (metres_per_px / gsd_m) ** 2  # pixels at the model's GSD per pixel here
    for task in labels.tasks:
        mask = targets[task]
        for part, keep, out in (("train", known & ~held_out, train), ("val", known & held_out, val)):
            out[task] = _write(
                folder / f"{task}_{part}.tif",
                np.where(keep, mask, IGNORE).astype(np.uint8),
                transform,
                crs,
                nodata=IGNORE,
            )
        positives[task] = int(round(float((mask.astype(bool) & known & ~held_out).sum()) * scale))
    return Crop(crop, train, val, positives)


def _building_mask(labels: LabelSet, crs, transform: Affine, window: PixelWindow) -> np.ndarray:
    return rasterize_vectors(
        labels.buildings.to_crs(crs), transform=transform, width=window.width, height=window.height
    )


def _road_mask(labels: LabelSet, crs, transform: Affine, window: PixelWindow) -> np.ndarray:
    if labels.roads.empty:
        return np.zeros((window.height, window.width), np.uint8)
    return rasterize_vectors(
        road_corridors(labels.roads).to_crs(crs),
        transform=transform,
        width=window.width,
        height=window.height,
        all_touched=True,
    )


def _pixels(path: Path) -> int:
    with rasterio.open(path) as src:
        return src.width * src.height


# -- training -------------------------------------------------------------------------------------
def _cpu_bf16() -> bool:
    try:
        return "avx512_bf16" in Path("/proc/cpuinfo").read_text() or "amx_bf16" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def training_config(
    base_dir: Path, crops: list[Crop], *, steps: int, options: AdaptOptions, out: Path, licence: str
) -> dict:
    """A weak-label fine-tuning config (:class:`~geovision.pretrain.config.WeakTrainConfig` mapping)."""
    from geovision.models.bundle import read_meta

    meta = read_meta(base_dir)
    shift_px = max(0, round(options.max_shift_m / meta.gsd_m))
    return {
        "name": "adapt",
        "output_dir": str(out),
        "init_from": str(base_dir),
        "model": meta.architecture.model_dump(mode="json"),
        "data": {
            "chip_px": options.chip_px,
            "gsd_m": meta.gsd_m,
            "bands": list(meta.bands),
            "normalization": meta.normalization.model_dump(mode="json"),
            "min_valid": 0.3,
            "workers": 0,
            "pack": True,
            "augment": {
                "flips": True,
                "rot90": True,
                "scale": [0.8, 1.25],
                "brightness": 0.05,
                "contrast": 0.05,
                "sensor": {"colour_p": 0.3, "blur_p": 0.1, "noise_p": 0.2},
            },
            "train": [
                {
                    "kind": "geotiff",
                    "name": f"event labels, image {i}",
                    "image": str(c.image),
                    "labels": {t: str(p) for t, p in c.labels_train.items()},
                    "licence": licence,
                }
                for i, c in enumerate(crops)
            ],
        },
        "optim": {"lr": options.lr, "encoder_lr_mult": 0.5, "warmup_steps": max(1, steps // 10), "min_lr_ratio": 0.05},
        "trainer": {
            "steps": steps,
            "batch_size": options.batch_size,
            "device": "auto",
            "amp": "bf16" if _cpu_bf16() else "auto",
            "val_every": steps + 1,
            "checkpoint_every": 50,
            "log_every": 10,
            "seed": options.seed,
        },
        "weak_labels": {
            "max_shift_px": shift_px,
            "shift_step_px": max(1, shift_px // 2),
            "negative_weight": options.negative_weight,
            "ignore_edge_px": options.ignore_edge_px,
            "gap_px": round(options.gap_m / meta.gsd_m),
            "gap_weight": options.gap_weight,
        },
        "bundle": {
            "name": f"{meta.name}-adapted",
            "version": meta.version,
            "select": "last",
            "licence": f"{meta.licence}; labels: {licence}",
            "thresholds": dict(meta.thresholds),
        },
    }


def seconds_per_step(raw: dict) -> float:
    """Time of one training step of ``raw`` on this machine (3 steps after one warm-up)."""
    from geovision.inference.runtime import pick_device
    from geovision.pretrain.config import WeakTrainConfig
    from geovision.pretrain.weak import build_weak_loss
    from geovision.train.run import build_loaders, build_model, build_trainer

    probe = json.loads(json.dumps(raw))
    probe["trainer"].update(steps=8)
    probe["optim"]["warmup_steps"] = 1
    config = WeakTrainConfig.model_validate(probe)
    device = pick_device(config.trainer.device)
    model = build_model(config, pretrained=False)
    trainer = build_trainer(config, model, device=device, hooks=[], loss_fn=build_weak_loss(config))
    loader, _ = build_loaders(config, cache_dir=Path(raw["output_dir"]) / "probe", device=device)
    batches = iter(loader)
    trainer.train_step(next(batches))
    started = time.perf_counter()
    for _ in range(3):
        trainer.train_step(next(batches))
    return (time.perf_counter() - started) / 3


# -- evaluation -----------------------------------------------------------------------------------
def held_out(frame: gpd.GeoDataFrame, labels_val: Path) -> gpd.GeoDataFrame:
    """The polygons of ``frame`` whose representative point lies on a held-out, labelled pixel of ``labels_val``."""
    with rasterio.open(labels_val) as src:
        frame = frame.to_crs(src.crs)
        band, transform = src.read(1), src.transform
    points = frame.geometry.representative_point()
    rows, cols = (np.asarray(v, dtype=int) for v in rasterio.transform.rowcol(transform, points.x, points.y))
    inside = (rows >= 0) & (rows < band.shape[0]) & (cols >= 0) & (cols < band.shape[1])
    keep = np.zeros(len(frame), bool)
    keep[inside] = band[rows[inside], cols[inside]] != IGNORE
    return frame[keep]


SCORE_NAMES = {
    "buildings_iou": "buildings: pixel IoU",
    "roads_iou": "roads: pixel IoU",
    "buildings_object_f1": "buildings: object F1 (>= 5 m², IoU >= 0.5)",
    "score": "score (decides: mean over tasks, buildings (IoU + object F1) / 2)",
}


def validation_scores(
    model_dir: Path, crops: list[Crop], work: Path, tasks: list[str], buildings: gpd.GeoDataFrame
) -> dict[str, float]:
    """Scores on the held-out blocks, the area segmented by the production engine: pixel IoU per task,
    building object F1 (footprints >= 5 m², IoU >= 0.5) against ``buildings``, and ``score``, the mean
    over tasks of roads' IoU and buildings' (IoU + object F1) / 2 (adapt keeps the model it is higher for:
    a model that fills buildings better but merges neighbours is not better for counting them)."""
    from geovision.evaluate.objects import object_f1
    from geovision.evaluate.pixel import PixelCounts
    from geovision.inference.engine import segment_scene
    from geovision.inference.predictor import bundle_ref
    from geovision.inference.sources import SourceSpec
    from geovision.vector.polygons import polygonize_raster

    counts = {task: PixelCounts() for task in tasks}
    objects = PixelCounts()
    for index, crop in enumerate(crops):
        out = work / f"{index}"
        segment_scene(
            SourceSpec(pre=str(crop.image)), bundle_ref(str(model_dir)), out, overwrite=True, show_progress=False
        )
        for task in tasks:
            with rasterio.open(out / f"{task}_scene_mask.tif") as pred, rasterio.open(crop.labels_val[task]) as truth:
                predicted = pred.read(
                    1, out_shape=(truth.height, truth.width), resampling=rasterio.enums.Resampling.nearest
                )
                labelled = truth.read(1)
            keep = (labelled != IGNORE) & (predicted != 255)
            counts[task] = counts[task].update(predicted == 1, labelled == 1, keep)
        if "buildings" in tasks:
            found = polygonize_raster(out / "buildings_scene_mask.tif", min_area_m2=OBJECT_MIN_M2)
            val = crop.labels_val["buildings"]
            score = object_f1(held_out(found, val), held_out(buildings, val), min_area_m2=OBJECT_MIN_M2)
            objects = objects + score.counts
    scores = {f"{task}_iou": counts[task].iou for task in tasks}
    per_task = [scores[f"{task}_iou"] for task in tasks]
    if "buildings" in tasks:
        scores["buildings_object_f1"] = objects.f1
        per_task[tasks.index("buildings")] = (scores["buildings_iou"] + objects.f1) / 2
    scores["score"] = float(np.mean(per_task))
    return scores


# -- the job ---------------------------------------------------------------------------------------
def adapt(
    pre: list[str],
    labels: list[str],
    out: str | Path,
    *,
    model: str = "default",
    area: str | None = None,
    options: AdaptOptions = AdaptOptions(),
    overwrite: bool = False,
) -> AdaptResult:
    """Adapt ``model`` to the images ``pre`` with map ``labels``; write the better bundle to ``out``."""
    from geovision.models.bundle import read_meta
    from geovision.models.registry import resolve_bundle
    from geovision.pretrain.config import WeakTrainConfig
    from geovision.pretrain.weak import train_weak

    started = time.perf_counter()
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputExistsError("the output bundle folder exists", path=out, fix="pass --overwrite or another --out")
    if options.minutes <= 0:
        raise ConfigError(f"--minutes must be > 0, not {options.minutes}", fix="give a time budget, e.g. --minutes 10")
    base_dir = resolve_bundle(model)
    meta = read_meta(base_dir)
    label_set = read_labels(labels)
    licence = label_licence(labels, options.licence)
    work = out.parent / f".{out.name}.adapt"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    try:
        crops = [
            prepare_crop(
                image,
                label_set,
                area=area,
                model_bands=tuple(meta.bands),
                gsd_m=meta.gsd_m,
                work=work,
                index=i,
                block_m=options.block_m,
                labels_path=labels[0],
            )
            for i, image in enumerate(pre)
        ]
        tasks = [t for t in label_set.tasks if t in meta.architecture.tasks]
        positives = {t: sum(c.positives.get(t, 0) for c in crops) for t in tasks}
        if sum(positives.values()) < MIN_POSITIVE_PX:
            raise ConfigError(
                f"too few labelled pixels to learn from: {positives} at {meta.gsd_m} m in the training "
                f"blocks; at least {MIN_POSITIVE_PX} are needed",
                path=labels[0],
                fix="label more buildings or roads, or give a larger --area",
            )
        raw = training_config(base_dir, crops, steps=10, options=options, out=work / "train", licence=licence)
        step_s = seconds_per_step(raw)
        pixels = sum(_pixels(c.image) for c in crops)
        evaluation_s = 2 * (20.0 + pixels / 1e6 * 4.0)  # two engine runs over the area (measured ~4 s/MP on 2 cores)
        budget_s = options.minutes * 60 - (time.perf_counter() - started) - evaluation_s
        steps = int(max(10, min(5000, 0.9 * budget_s / step_s)))
        log.info(
            "adapt: %.2f s/step, %d steps in %.1f min; labelled pixels %s", step_s, steps, options.minutes, positives
        )
        raw = training_config(base_dir, crops, steps=steps, options=options, out=work / "train", licence=licence)
        raw["trainer"]["max_minutes"] = max(0.05, budget_s / 60)  # the plan assumes an idle machine: hold the budget
        result = train_weak(WeakTrainConfig.model_validate(raw), overwrite=True)
        before = validation_scores(base_dir, crops, work / "eval_base", tasks, label_set.buildings)
        after = validation_scores(result.bundle, crops, work / "eval_adapted", tasks, label_set.buildings)
        adapted = after["score"] > before["score"]
        seconds = time.perf_counter() - started
        record = {
            "base": str(base_dir),
            "base_name": f"{meta.name} {meta.version}",
            "adapted": adapted,
            "labels": [{"path": str(p), "licence": licence} for p in labels],
            "images": list(pre),
            "area": area or "the labels' extent",
            "minutes": options.minutes,
            "steps": steps,
            "seconds": round(seconds, 1),
            "validation": f"1 block in 4 (diagonal pattern) of {options.block_m:g} m, never trained on; "
            "the adapted model is kept when its score there is higher",
            "before": before,
            "after": after,
            "labelled_pixels": positives,
            "options": asdict(options),
        }
        with atomic_output(out, overwrite=True) as tmp:
            shutil.copytree(result.bundle if adapted else base_dir, tmp)
            (tmp / "adapt.json").write_text(json.dumps(record, indent=1))
            (tmp / "MODEL_CARD.md").write_text(_card(record, meta))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return AdaptResult(out, adapted, before, after, steps, seconds, tasks)


def _card(record: dict, meta) -> str:
    rows = "\n".join(
        f"| {SCORE_NAMES.get(key, key)} | {record['before'][key]:.3f} | {record['after'][key]:.3f} |"
        for key in record["before"]
    )
    verdict = (
        "the adapted weights (better on the held-out blocks)"
        if record["adapted"]
        else "the base model's weights, unchanged: the adapted model was not better on the held-out blocks"
    )
    labels = "\n".join(f"| {item['path']} | {item['licence']} |" for item in record["labels"])
    return f"""# Model card: {record["base_name"]}, adapted with `geovision adapt`

This bundle holds {verdict}.

- Base bundle: {record["base"]} ({record["base_name"]}, licence {meta.licence}); its own card lists its training data.
- Images: {", ".join(record["images"])}
- Labelled area: {record["area"]}; labelled pixels in the training blocks (at {meta.gsd_m} m): \
{record["labelled_pixels"]}
- Budget: {record["minutes"]:g} minutes; {record["steps"]} steps of weak-label fine-tuning; \
took {record["seconds"] / 60:.1f} minutes
- Validation: {record["validation"]}

| label source | licence |
|---|---|
{labels}

| held-out blocks | base | adapted |
|---|---|---|
{rows}
"""

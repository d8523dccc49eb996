"""One entry point per evaluation task, choosing raster or vector metrics from the inputs.

``buildings``: masks -> pixel IoU/F1; footprints -> SpaceNet object F1.
``roads``: masks -> pixel IoU/F1; centrelines -> APLS + relaxed F1.
``damage``: 0-4 damage masks -> xView2 score.
``dii``: impacted grids (rasters, or vector grids with an ``impacted``/``dii`` column) -> cell F1.
``pred`` and ``truth`` are two files, or two folders whose files are paired by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from geovision.errors import ConfigError, MissingFileError

TASKS = ("buildings", "roads", "damage", "dii")
RASTER_SUFFIXES = {".tif", ".tiff", ".png", ".jpg", ".jpeg", ".vrt", ".img", ".jp2"}
VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".csv", ".fgb"}


@dataclass(frozen=True)
class Options:
    """Settings shared by the tasks (CLI flags)."""

    iou_threshold: float = 0.5
    min_area_m2: float = 0.0
    max_snap_dist_m: float = 4.0
    buffer_m: float = 3.0
    pred_threshold: float | None = None
    truth_threshold: float | None = None
    image: Path | None = None
    image_id: str | None = None
    localization: Path | None = None
    column: str | None = None


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in RASTER_SUFFIXES:
        return "raster"
    if suffix in VECTOR_SUFFIXES:
        return "vector"
    raise ConfigError(f"unknown file type {suffix!r}", path=path,
                      fix=f"use a raster ({', '.join(sorted(RASTER_SUFFIXES))}) or vector "
                          f"({', '.join(sorted(VECTOR_SUFFIXES))}) file")


def file_pairs(pred: Path, truth: Path) -> list[tuple[Path, Path]]:
    """``[(pred, truth)]`` for two files, or files of one name in two folders."""
    for path in (pred, truth):
        if not path.exists():
            raise MissingFileError("input not found", path=path, fix="check the path")
    if pred.is_dir() != truth.is_dir():
        raise ConfigError("--pred and --truth must both be files or both be folders", path=pred)
    if not pred.is_dir():
        return [(pred, truth)]
    known = RASTER_SUFFIXES | VECTOR_SUFFIXES
    truths = sorted(p for p in truth.iterdir() if p.suffix.lower() in known)
    if not truths:
        raise ConfigError("the truth folder holds no raster or vector files", path=truth)
    pairs = []
    for t in truths:
        p = pred / t.name
        if not p.exists():
            raise MissingFileError(f"no prediction for truth file {t.name}", path=p,
                                   fix="name each prediction like its truth file")
        pairs.append((p, t))
    return pairs


def _kind_of_pairs(pairs: list[tuple[Path, Path]]) -> str:
    kinds = {_kind(p) for pair in pairs for p in pair}
    if len(kinds) != 1:
        raise ConfigError("prediction and truth must both be rasters or both be vectors", path=pairs[0][0],
                          fix="rasterise or vectorise one side first (geovision vectorize)")
    return kinds.pop()


def _pixel(pairs, options: Options) -> dict:
    from geovision.evaluate.pixel import PixelCounts
    from geovision.evaluate.rasters import score_mask_rasters

    total = PixelCounts()
    for pred, truth in pairs:
        total = total + score_mask_rasters(pred, truth, pred_threshold=options.pred_threshold,
                                           truth_threshold=options.truth_threshold)
    return {"pixel": total.to_dict(), "n_files": len(pairs)}


def _read_pair(pred: Path, truth: Path, options: Options):
    from geovision.evaluate.vectors import PixelGrid, align_image_ids, read_vectors

    grid = PixelGrid.from_raster(options.image) if options.image is not None else None
    p = read_vectors(pred, pixel_grid=grid, image_id=options.image_id)
    t = read_vectors(truth, pixel_grid=grid, image_id=options.image_id)
    return align_image_ids(p, t)


def _concat(frames):
    import pandas as pd

    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _buildings_vectors(pairs, options: Options) -> dict:
    from geovision.evaluate.objects import object_f1

    read = [_read_pair(p, t, options) for p, t in pairs]
    score = object_f1(_concat([p for p, _ in read]), _concat([t for _, t in read]),
                      iou_threshold=options.iou_threshold, min_area_m2=options.min_area_m2)
    return {"objects": score.to_dict(), "iou_threshold": options.iou_threshold, "min_area_m2": options.min_area_m2}


def _roads_vectors(pairs, options: Options) -> dict:
    from geovision.evaluate.roads import road_scores

    read = [_read_pair(p, t, options) for p, t in pairs]
    return road_scores(_concat([p for p, _ in read]), _concat([t for _, t in read]),
                       max_snap_dist_m=options.max_snap_dist_m, buffer_m=options.buffer_m)


def _damage(pairs, options: Options) -> dict:
    from geovision.evaluate.rasters import score_damage_rasters
    from geovision.evaluate.xview2 import XView2Counts

    if options.localization is not None and len(pairs) > 1:
        raise ConfigError("--localization takes one file; with folders, put building masks in the damage masks")
    counts = XView2Counts()
    for pred, truth in pairs:
        score_damage_rasters(pred, truth, localization_path=options.localization, counts=counts)
    return {"xview2": counts.to_dict()}


def _dii(pairs, kind: str, options: Options) -> dict:
    if kind == "raster":
        result = _pixel(pairs, options)
        return {"cells": result["pixel"], "n_files": result["n_files"]}
    from geovision.evaluate.grid import match_vector_grids, read_vector_grid

    if len(pairs) != 1:
        raise ConfigError("vector DII grids are compared one pair at a time")
    (pred, truth), = pairs
    threshold = options.pred_threshold
    return {"cells": match_vector_grids(read_vector_grid(pred, threshold=threshold, column=options.column),
                                        read_vector_grid(truth, threshold=options.truth_threshold
                                                         if options.truth_threshold is not None else threshold,
                                                         column=options.column))}


def evaluate(task: str, pred: str | Path, truth: str | Path, options: Options | None = None) -> dict:
    """Score ``pred`` against ``truth`` for ``task``; returns a JSON-ready dict."""
    options = options or Options()
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}", fix=f"use one of {', '.join(TASKS)}")
    pairs = file_pairs(Path(pred), Path(truth))
    kind = _kind_of_pairs(pairs)
    if task == "damage":
        if kind != "raster":
            raise ConfigError("the damage task scores 0-4 damage rasters", path=pairs[0][0])
        metrics = _damage(pairs, options)
    elif task == "dii":
        metrics = _dii(pairs, kind, options)
    elif kind == "raster":
        metrics = _pixel(pairs, options)
    elif task == "buildings":
        metrics = _buildings_vectors(pairs, options)
    else:
        metrics = _roads_vectors(pairs, options)
    return {"task": task, "input": kind, "pred": str(pred), "truth": str(truth), "metrics": metrics}


def summary_rows(result: dict) -> list[tuple[str, float | int | None]]:
    """The headline numbers of a result, as ``(name, value)`` rows for a table."""
    m = result["metrics"]
    if "objects" in m:
        o = m["objects"]
        return [(k, o[k]) for k in ("f1", "precision", "recall", "tp", "fp", "fn", "mean_iou_of_matches",
                                    "n_repaired_pred", "n_repaired_truth")]
    if "xview2" in m:
        x = m["xview2"]
        return [(k, v) for k, v in x.items() if not isinstance(v, dict)]
    if "apls" in m:
        rows = [("apls (mean)", m["apls"]), ("relaxed_f1 (mean)", m["relaxed_f1"]), ("images", m["n_images"])]
        for image, r in m["per_image"].items():
            rows += [(f"{image} apls", r["apls"]["apls"]),
                     (f"{image} apls gt->prop", r["apls"]["apls_gt_onto_prop"]),
                     (f"{image} apls prop->gt", r["apls"]["apls_prop_onto_gt"]),
                     (f"{image} relaxed_f1", r["relaxed"]["f1"])]
        return rows
    counts = m.get("pixel") or m.get("cells")
    return [(k, counts[k]) for k in ("iou", "f1", "precision", "recall", "tp", "fp", "fn", "tn")]

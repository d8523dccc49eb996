"""One entry point per evaluation task, choosing raster or vector metrics from the inputs.

``buildings``: masks -> pixel IoU/F1; footprints -> SpaceNet object F1 (``challenge="spacenet2"``:
the SpaceNet 2 scorer, per AOI with its 20-pixel rule, :mod:`geovision.evaluate.spacenet2`).
``roads``: masks -> pixel IoU/F1; centrelines or JSON road graphs -> APLS + relaxed F1
(``challenge="spacenet3"``: graphs built from lines as CosmiQ's ``apls.py`` builds them).
``damage``: 0-4 damage masks -> xView2 score.
``dii``: impacted grids (rasters, or vector grids with an ``impacted``/``dii`` column) -> cell F1.
``pred`` and ``truth`` are two files, or two folders whose files are paired by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geovision.errors import ConfigError, MissingFileError
from geovision.evaluate.apls import (
    DEFAULT_CURVATURE_EPS,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_MIDPOINT_SPACING_M,
    DEFAULT_MIN_PATH_LENGTH_M,
)
from geovision.evaluate.spacenet2 import MIN_AREA_PX

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import CRS

    from geovision.evaluate.roads import RoadSettings

#: (prediction, truth) files, as :func:`file_pairs` returns them
Pairs = list[tuple[Path, Path]]

TASKS = ("buildings", "roads", "damage", "dii")
# challenge preset -> the task it belongs to
CHALLENGES = {"spacenet2": "buildings", "spacenet3": "roads"}
RASTER_SUFFIXES = {".tif", ".tiff", ".png", ".jpg", ".jpeg", ".vrt", ".img", ".jp2"}
VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".csv", ".fgb"}


@dataclass(frozen=True)
class Options:
    """Settings shared by the tasks (CLI flags)."""

    iou_threshold: float = 0.5
    min_area_m2: float = 0.0
    max_snap_dist_m: float = DEFAULT_MAX_SNAP_M
    buffer_m: float = 3.0
    # APLS: the SpaceNet 3 reference run's linestring_delta, is_curved_eps and min_path_length
    midpoint_spacing_m: float = DEFAULT_MIDPOINT_SPACING_M
    curvature_eps: float = DEFAULT_CURVATURE_EPS
    min_path_length_m: float = DEFAULT_MIN_PATH_LENGTH_M
    challenge: str | None = None  # a preset of CHALLENGES
    min_area_px: float = MIN_AREA_PX  # the SpaceNet 2 rule (challenge="spacenet2")
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
    raise ConfigError(
        f"unknown file type {suffix!r}",
        path=path,
        fix=f"use a raster ({', '.join(sorted(RASTER_SUFFIXES))}) or vector "
        f"({', '.join(sorted(VECTOR_SUFFIXES))}) file",
    )


def file_pairs(pred: Path, truth: Path) -> Pairs:
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
            raise MissingFileError(
                f"no prediction for truth file {t.name}", path=p, fix="name each prediction like its truth file"
            )
        pairs.append((p, t))
    return pairs


def _kind_of_pairs(pairs: Pairs) -> str:
    kinds = {_kind(p) for pair in pairs for p in pair}
    if len(kinds) != 1:
        raise ConfigError(
            "prediction and truth must both be rasters or both be vectors",
            path=pairs[0][0],
            fix="rasterise or vectorise one side first (geovision vectorize)",
        )
    return kinds.pop()


def _pixel(pairs: Pairs, options: Options) -> dict:
    from geovision.evaluate.pixel import PixelCounts
    from geovision.evaluate.rasters import score_mask_rasters

    total = PixelCounts()
    for pred, truth in pairs:
        total = total + score_mask_rasters(
            pred, truth, pred_threshold=options.pred_threshold, truth_threshold=options.truth_threshold
        )
    return {"pixel": total.to_dict(), "n_files": len(pairs)}


def _read_pair(pred: Path, truth: Path, options: Options) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    from geovision.evaluate.vectors import PixelGrid, align_image_ids, read_vectors

    grid = PixelGrid.from_raster(options.image) if options.image is not None else None
    p = read_vectors(pred, pixel_grid=grid, image_id=options.image_id)
    t = read_vectors(truth, pixel_grid=grid, image_id=options.image_id)
    return align_image_ids(p, t)


def _concat(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    import pandas as pd

    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _buildings_vectors(pairs: Pairs, options: Options) -> dict:
    from geovision.evaluate.objects import object_f1

    read = [_read_pair(p, t, options) for p, t in pairs]
    score = object_f1(
        _concat([p for p, _ in read]),
        _concat([t for _, t in read]),
        iou_threshold=options.iou_threshold,
        min_area_m2=options.min_area_m2,
    )
    return {"objects": score.to_dict(), "iou_threshold": options.iou_threshold, "min_area_m2": options.min_area_m2}


def _buildings_spacenet2(pairs: Pairs, options: Options) -> dict:
    from geovision.evaluate.spacenet2 import spacenet2_score
    from geovision.evaluate.vectors import read_vectors

    if options.image is not None:
        raise ConfigError(
            "--challenge spacenet2 scores pixel coordinates (PolygonWKT_Pix), --image is not used",
            path=options.image,
            fix="drop --image",
        )
    if options.min_area_m2 > 0:
        raise ConfigError(
            "--min-area (m²) does not apply to --challenge spacenet2",
            fix="use --min-area-px (default 20, the SpaceNet 2 rule)",
        )
    read = [
        (
            read_vectors(p, wkt_column="PolygonWKT_Pix", image_id=options.image_id),
            read_vectors(t, wkt_column="PolygonWKT_Pix", image_id=options.image_id),
        )
        for p, t in pairs
    ]
    score = spacenet2_score(
        _concat([p for p, _ in read]),
        _concat([t for _, t in read]),
        iou_threshold=options.iou_threshold,
        min_area_px=options.min_area_px,
    )
    return {"spacenet2": score.to_dict()}


def _road_settings(options: Options) -> RoadSettings:
    from geovision.evaluate.roads import RoadSettings

    return RoadSettings(
        max_snap_dist_m=options.max_snap_dist_m,
        midpoint_spacing_m=options.midpoint_spacing_m,
        curvature_eps=options.curvature_eps,
        min_path_length_m=options.min_path_length_m,
        buffer_m=options.buffer_m,
        graph_rules="cosmiq" if options.challenge == "spacenet3" else "geovision",
    )


def _graph_crs(graphs: dict[str, Any], pred: Path, truth: Path) -> CRS | None:
    """The CRS the pair is scored in: the graphs' (which must agree)."""
    crss = {side: g.crs for side, g in graphs.items()}
    if len(graphs) == 2:
        if (crss["pred"] is None) != (crss["truth"] is None) or crss["pred"] != crss["truth"]:
            raise ConfigError(
                f"the two road graphs are in different CRSs ({crss['pred']} and {crss['truth']})",
                path=pred,
                fix="export both graphs in one metric CRS (graph.crs)",
            )
        return crss["truth"]
    ((side, crs),) = crss.items()
    if crs is None:
        raise ConfigError(
            "the road graph has no graph.crs, so the lines cannot be put in its coordinates",
            path=pred if side == "pred" else truth,
            fix='add "graph": {"crs": "EPSG:...."} to the graph file',
        )
    return crs


def _road_graph_pair(pred: Path, truth: Path, options: Options, settings: RoadSettings) -> tuple[str, dict]:
    """One image's scores when one or both sides are JSON road graphs."""
    from geovision.evaluate.graph_json import is_graph_json, read_graph_json
    from geovision.evaluate.roads import graph_from_lines, score_road_graphs
    from geovision.evaluate.vectors import DEFAULT_IMAGE, PixelGrid, read_vectors

    graphs = {side: read_graph_json(path) for side, path in (("pred", pred), ("truth", truth)) if is_graph_json(path)}
    crs = _graph_crs(graphs, pred, truth)
    built, lines, names = {}, {}, []
    grid = PixelGrid.from_raster(options.image) if options.image is not None else None
    for side, path in (("pred", pred), ("truth", truth)):
        if side in graphs:
            built[side] = graphs[side].graph
            continue
        frame = read_vectors(path, pixel_grid=grid, image_id=options.image_id)
        images = sorted(set(frame["image_id"]) - {DEFAULT_IMAGE})
        if len(images) > 1:
            raise ConfigError(
                f"a road graph is one image, but this file has {len(images)} images",
                path=path,
                fix="pick one with --image-id",
            )
        names += images
        built[side] = graph_from_lines(frame, crs=crs, truth=side == "truth", settings=settings)
        lines[side] = frame.to_crs(crs).geometry.values
    name = names[0] if names else (graphs["truth"] if "truth" in graphs else graphs["pred"]).name
    return name, score_road_graphs(
        built["truth"], built["pred"], settings=settings, truth_lines=lines.get("truth"), pred_lines=lines.get("pred")
    )


def _roads_vectors(pairs: Pairs, options: Options) -> dict:
    from geovision.evaluate.graph_json import is_graph_json
    from geovision.evaluate.roads import road_scores, summarize

    settings = _road_settings(options)
    if not any(is_graph_json(path) for pair in pairs for path in pair):
        read = [_read_pair(p, t, options) for p, t in pairs]
        return road_scores(_concat([p for p, _ in read]), _concat([t for _, t in read]), settings=settings)
    per_image: dict[str, dict] = {}
    for pred, truth in pairs:
        name, result = _road_graph_pair(pred, truth, options, settings)
        if name in per_image:
            raise ConfigError(
                f"two file pairs are both image {name!r}", path=truth, fix="give each image's graph its own file name"
            )
        per_image[name] = result
    return summarize(per_image, settings)


def _damage(pairs: Pairs, options: Options) -> dict:
    from geovision.evaluate.rasters import score_damage_rasters
    from geovision.evaluate.xview2 import XView2Counts

    if options.localization is not None and len(pairs) > 1:
        raise ConfigError("--localization takes one file; with folders, put building masks in the damage masks")
    counts = XView2Counts()
    for pred, truth in pairs:
        score_damage_rasters(pred, truth, localization_path=options.localization, counts=counts)
    return {"xview2": counts.to_dict()}


def _dii(pairs: Pairs, kind: str, options: Options) -> dict:
    if kind == "raster":
        result = _pixel(pairs, options)
        return {"cells": result["pixel"], "n_files": result["n_files"]}
    from geovision.evaluate.grid import match_vector_grids, read_vector_grid

    if len(pairs) != 1:
        raise ConfigError("vector DII grids are compared one pair at a time")
    ((pred, truth),) = pairs
    threshold = options.pred_threshold
    return {
        "cells": match_vector_grids(
            read_vector_grid(pred, threshold=threshold, column=options.column),
            read_vector_grid(
                truth,
                threshold=options.truth_threshold if options.truth_threshold is not None else threshold,
                column=options.column,
            ),
        )
    }


def evaluate(task: str, pred: str | Path, truth: str | Path, options: Options | None = None) -> dict:
    """Score ``pred`` against ``truth`` for ``task``; returns a JSON-ready dict."""
    options = options or Options()
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}", fix=f"use one of {', '.join(TASKS)}")
    if options.challenge is not None and CHALLENGES.get(options.challenge) != task:
        raise ConfigError(
            f"--challenge {options.challenge} does not apply to --task {task}",
            fix=", ".join(f"--challenge {c} goes with --task {t}" for c, t in CHALLENGES.items()),
        )
    pairs = file_pairs(Path(pred), Path(truth))
    kind = _kind_of_pairs(pairs)
    if options.challenge is not None and kind != "vector":
        raise ConfigError(
            f"--challenge {options.challenge} scores vectors (SpaceNet CSVs, road lines or graphs)",
            path=pairs[0][0],
            fix="vectorise the masks first (geovision vectorize)",
        )
    if task == "damage":
        if kind != "raster":
            raise ConfigError("the damage task scores 0-4 damage rasters", path=pairs[0][0])
        metrics = _damage(pairs, options)
    elif task == "dii":
        metrics = _dii(pairs, kind, options)
    elif kind == "raster":
        metrics = _pixel(pairs, options)
    elif task == "buildings":
        metrics = (_buildings_spacenet2 if options.challenge == "spacenet2" else _buildings_vectors)(pairs, options)
    else:
        metrics = _roads_vectors(pairs, options)
    return {"task": task, "input": kind, "pred": str(pred), "truth": str(truth), "metrics": metrics}


def summary_rows(result: dict) -> list[tuple[str, float | int | None]]:
    """The headline numbers of a result, as ``(name, value)`` rows for a table."""
    m = result["metrics"]
    if "spacenet2" in m:
        s = m["spacenet2"]
        rows = [(f"{k} (all AOIs)", s[k]) for k in ("f1", "precision", "recall", "tp", "fp", "fn")]
        rows += [("mean AOI f1", s["mean_aoi_f1"]), ("truth under min_area_px", s["n_small_truth"])]
        for aoi, c in s["per_aoi"].items():
            rows += [(f"{aoi} {k}", c[k]) for k in ("f1", "precision", "recall", "tp", "fp", "fn")]
        return rows
    if "objects" in m:
        o = m["objects"]
        return [
            (k, o[k])
            for k in (
                "f1",
                "precision",
                "recall",
                "tp",
                "fp",
                "fn",
                "mean_iou_of_matches",
                "n_repaired_pred",
                "n_repaired_truth",
            )
        ]
    if "xview2" in m:
        x = m["xview2"]
        return [(k, v) for k, v in x.items() if not isinstance(v, dict)]
    if "apls" in m:
        rows = [("apls (mean)", m["apls"]), ("relaxed_f1 (mean)", m["relaxed_f1"]), ("images", m["n_images"])]
        for image, r in m["per_image"].items():
            rows += [
                (f"{image} apls", r["apls"]["apls"]),
                (f"{image} apls gt->prop", r["apls"]["apls_gt_onto_prop"]),
                (f"{image} apls prop->gt", r["apls"]["apls_prop_onto_gt"]),
                (f"{image} relaxed_f1", r["relaxed"]["f1"]),
            ]
        return rows
    counts = m.get("pixel") or m.get("cells")
    return [(k, counts[k]) for k in ("iou", "f1", "precision", "recall", "tp", "fp", "fn", "tn")]

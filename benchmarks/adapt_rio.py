#!/usr/bin/env python
"""Issue 20 acceptance: adapt on SpaceNet 1 Rio training chips from OSM-like footprints, score img56-57.

    python benchmarks/adapt_rio.py [--model default] [--minutes 10] [--out outputs/benchmarks/adapt_rio]

The labels imitate OpenStreetMap: footprint polygons traced from the training chips' masks
(img50-52, img63-64; img58-62 are scene-edge nodata tiles without buildings), 20 % of the
buildings dropped at random and every other one shifted by up to 2 m (seeded). Base and adapted
model segment the evaluation-only chips img56-57 through the production engine; building pixel IoU
is pooled over both against their masks. Writes ``adapt_rio.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.features import shapes
from shapely import affinity

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from adapt_report import add_recipe_options, recipe, write_report  # noqa: E402

from geovision.adapt.run import AdaptOptions, adapt  # noqa: E402
from geovision.evaluate.pixel import PixelCounts  # noqa: E402
from geovision.inference.engine import segment_scene  # noqa: E402
from geovision.inference.predictor import bundle_ref  # noqa: E402
from geovision.inference.sources import SourceSpec  # noqa: E402
from geovision.models.registry import resolve_bundle  # noqa: E402
from geovision.vector.units import metric_crs  # noqa: E402

TRAIN = ("img50", "img51", "img52", "img63", "img64")
TEST = ("img56", "img57")
LICENCE = "CC BY-SA 4.0 (SpaceNet 1)"


def chip(folder: Path, kind: str, name: str) -> Path:
    return folder / kind / f"3band_013022223130_Public_{name}.tif"


def footprints(mask: Path) -> gpd.GeoDataFrame:
    """The building polygons of a 0/255 mask, in its CRS."""
    with rasterio.open(mask) as src:
        band = (src.read(1) > 0).astype(np.uint8)
        polygons = [shapely.geometry.shape(g) for g, v in shapes(band, mask=band > 0, transform=src.transform) if v]
        return gpd.GeoDataFrame(geometry=polygons, crs=src.crs)


def osm_like(frame: gpd.GeoDataFrame, *, drop: float = 0.2, shift_m: float = 2.0, seed: int = 0) -> gpd.GeoDataFrame:
    """``frame`` with ``drop`` of its rows removed and the rest moved by up to ``shift_m`` (uniform, random)."""
    rng = np.random.default_rng(seed)
    kept = frame[rng.random(len(frame)) >= drop]
    metric = kept.to_crs(metric_crs(kept))
    dx, dy = rng.uniform(-shift_m, shift_m, (2, len(metric))) / np.sqrt(2)
    moved = [affinity.translate(g, x, y) for g, x, y in zip(metric.geometry, dx, dy, strict=True)]
    return gpd.GeoDataFrame(geometry=moved, crs=metric.crs).to_crs(frame.crs)


def iou(mask: Path, truth: Path, counts: PixelCounts) -> PixelCounts:
    with rasterio.open(mask) as pred, rasterio.open(truth) as true:
        predicted, actual = pred.read(1), true.read(1) > 0
    return counts + PixelCounts().update(predicted == 1, actual, predicted != 255)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--minutes", type=float, default=10.0)
    add_recipe_options(parser)
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "benchmarks" / "adapt_rio")
    args = parser.parse_args()
    folder = args.data_root / "spacenet1_rio_buildings"
    args.out.mkdir(parents=True, exist_ok=True)
    truth = gpd.pd.concat([footprints(chip(folder, "masks", name)) for name in TRAIN], ignore_index=True)
    labels = osm_like(truth)
    labels_path, area_path = args.out / "osm_like_footprints.geojson", args.out / "training_chips.gpkg"
    labels.to_file(labels_path, driver="GeoJSON")
    boxes = []
    for name in TRAIN:
        with rasterio.open(chip(folder, "images", name)) as src:
            boxes.append(shapely.box(*src.bounds))
    gpd.GeoDataFrame(geometry=boxes, crs=truth.crs).to_file(area_path)
    started = time.perf_counter()
    result = adapt(
        [str(chip(folder, "images", name)) for name in TRAIN],
        [str(labels_path)],
        args.out / "adapted",
        model=args.model,
        area=str(area_path),
        options=AdaptOptions(minutes=args.minutes, **recipe(args), licence=LICENCE),
        overwrite=True,
    )
    adapt_s = time.perf_counter() - started
    scores = {}
    for model_name, bundle in (("base", resolve_bundle(args.model)), ("adapted", result.out)):
        counts = PixelCounts()
        for name in TEST:
            out = args.out / f"segment_{model_name}_{name}"
            segment_scene(
                SourceSpec(pre=str(chip(folder, "images", name))), bundle_ref(str(bundle)), out, overwrite=True
            )
            counts = iou(out / "buildings_scene_mask.tif", chip(folder, "masks", name), counts)
        scores[model_name] = {"building_iou": counts.iou, "building_f1": counts.f1}
    write_report(
        args.out / "adapt_rio.json",
        result,
        adapt_s,
        scores,
        train=", ".join(TRAIN),
        labels=f"{len(truth)} traced footprints, {len(labels)} kept (20 % dropped, <= 2 m shifts)",
        test=", ".join(TEST),
        recipe=recipe(args),
    )


if __name__ == "__main__":
    main()

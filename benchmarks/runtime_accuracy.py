"""Does a fast runtime change accuracy? Building F1 of the default model per runtime on Joplin tile 0.

    .venv/bin/python benchmarks/runtime_accuracy.py [--runtimes fp32 bf16] [--model default]

Joplin tile 0 (xBD, pre-event) is never trained on. For each runtime the tile is segmented
with the production engine (512 px chips, 64 px overlap), building masks are polygonised
(>= 5 m2) and scored against the xBD footprints: pixel F1 and SpaceNet object F1 (IoU >= 0.5).
Prints the F1 of each runtime and its difference to fp32, and how long prediction took.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio

from geovision.evaluate.objects import object_f1
from geovision.evaluate.pixel import PixelCounts
from geovision.inference.engine import segment_scene
from geovision.inference.predictor import bundle_ref
from geovision.inference.sources import SourceSpec
from geovision.io.labels import rasterize_vectors, read_xbd_json
from geovision.pipeline.events import materialise
from geovision.vector.polygons import polygonize_raster

TILE = "joplin-tornado_00000000_pre_disaster"


def joplin_tile0() -> tuple[Path, gpd.GeoDataFrame]:
    """The georeferenced tile 0 pre image and its true footprints (EPSG:4326)."""
    inputs = materialise("joplin-tornado-2011")
    image = inputs.pre.parent / "tiles" / f"{TILE}.tif"
    labels = Path(__file__).resolve().parents[2] / "shared/data/xbd_joplin_tornado/labels" / f"{TILE}.json"
    frame = read_xbd_json(labels)
    truth = gpd.GeoDataFrame(geometry=gpd.GeoSeries(frame["geometry_lnglat"], crs="EPSG:4326"))
    return image, truth


def score(mask_path: Path, truth: gpd.GeoDataFrame) -> dict:
    with rasterio.open(mask_path) as src:
        mask = src.read(1)
        transform, crs = src.transform, src.crs
    truth_mask = rasterize_vectors(truth.to_crs(crs), transform=transform, width=mask.shape[1], height=mask.shape[0])
    pixel = PixelCounts().update(mask == 1, truth_mask > 0, mask != 255)
    pred = polygonize_raster(mask_path, min_area_m2=5.0)
    objects = object_f1(pred, truth, min_area_m2=5.0)
    return {"pixel_f1": pixel.f1, "pixel_iou": pixel.iou, "object_f1": objects.f1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runtimes", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    image, truth = joplin_tile0()
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for runtime in args.runtimes:
            out = Path(work) / runtime
            result = segment_scene(SourceSpec(pre=str(image)), bundle_ref(args.model, runtime=runtime), out)
            results[runtime] = {**score(out / "buildings_scene_mask.tif", truth),
                                "seconds_predict": round(result.seconds_predict, 2)}
    base = results.get("fp32")
    for runtime, figures in results.items():
        delta = "" if base is None else (f"  (object F1 {100 * (figures['object_f1'] - base['object_f1']):+.2f} "
                                         f"pts, pixel F1 {100 * (figures['pixel_f1'] - base['pixel_f1']):+.2f} pts "
                                         "vs fp32)")
        print(f"{runtime:8s} pixel F1 {figures['pixel_f1']:.4f}  IoU {figures['pixel_iou']:.4f}  object F1 "
              f"{figures['object_f1']:.4f}  predict {figures['seconds_predict']:.1f} s{delta}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

"""Does a fast runtime change accuracy? Building F1 of the default model per runtime on Joplin images.

    .venv/bin/python benchmarks/runtime_accuracy.py [--runtimes fp32 bf16] [--model default]
    .venv/bin/python benchmarks/runtime_accuracy.py --tiles 0 1 2 --dates pre post   # ~2,000 buildings
    .venv/bin/python benchmarks/runtime_accuracy.py --runtimes openvino --overlaps 64 32   # tiling, not runtime

Each Joplin image (xBD, georeferenced from its labels) is segmented with the production engine
(512 px chips, 64 px overlap) per runtime and ``--overlaps`` / ``--chips`` variant; building masks
are polygonised (>= 5 m2) and scored against the xBD footprints (pre: every building; post: those
not destroyed): pixel F1 and SpaceNet object F1 (IoU >= 0.5), pooled over the images (TP/FP/FN
summed). Prints the F1 of each variant, its difference to fp32 (else the first variant), the mask
pixels unlike the first variant's and how long prediction took. Tile 0 is never trained on; tiles
1-2 were (default model), which does not matter for a runtime *difference* but does for the
absolute F1, so only tile 0's is an accuracy figure.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import geopandas as gpd
import rasterio

from geovision import defaults
from geovision.evaluate.objects import object_f1
from geovision.evaluate.pixel import PixelCounts
from geovision.impact.xbd import xbd_tile_geotiff
from geovision.inference.batches import SegmentOptions
from geovision.inference.engine import segment_scene
from geovision.inference.predictor import bundle_ref
from geovision.inference.sources import SourceSpec
from geovision.io.labels import rasterize_vectors, read_xbd_json
from geovision.vector.polygons import polygonize_raster

DISASTER = "joplin-tornado"
XBD = Path(__file__).resolve().parents[2] / "shared/data/xbd_joplin_tornado"
TILES = Path(tempfile.mkdtemp(prefix="geovision-joplin-tiles-"))


def joplin_image(tile: str, date: str) -> tuple[Path, gpd.GeoDataFrame]:
    """The georeferenced image of ``tile`` (e.g. "00000000") and ``date`` and its true footprints (EPSG:4326)."""
    stem = f"{DISASTER}_{tile}_{date}_disaster"
    image = xbd_tile_geotiff(stem, images=XBD / "images", labels=XBD / "labels", out_dir=TILES)
    frame = read_xbd_json(XBD / "labels" / f"{stem}.json")
    if date == "post":
        frame = frame[frame["subtype"] != "destroyed"]
    return image, gpd.GeoDataFrame(geometry=gpd.GeoSeries(frame["geometry_lnglat"], crs="EPSG:4326"))


def joplin_tile0() -> tuple[Path, gpd.GeoDataFrame]:
    """The georeferenced tile 0 pre image and its true footprints (EPSG:4326)."""
    return joplin_image("00000000", "pre")


def score(mask_path: Path, truth: gpd.GeoDataFrame) -> dict:
    with rasterio.open(mask_path) as src:
        mask = src.read(1)
        transform, crs = src.transform, src.crs
    truth_mask = rasterize_vectors(truth.to_crs(crs), transform=transform, width=mask.shape[1], height=mask.shape[0])
    pixel = PixelCounts().update(mask == 1, truth_mask > 0, mask != 255)
    pred = polygonize_raster(mask_path, min_area_m2=5.0)
    objects = object_f1(pred, truth, min_area_m2=5.0)
    return {
        "pixel_f1": pixel.f1,
        "pixel_iou": pixel.iou,
        "object_f1": objects.f1,
        "pixel": pixel,
        "objects": objects.counts,
    }


def flipped_pixels(run: Path, reference: Path, tasks: tuple[str, ...] = ("buildings", "roads")) -> dict[str, int]:
    """Mask pixels of ``run`` that differ from the same mask of ``reference`` (both valid), per task."""
    flips = {}
    for task in tasks:
        masks = []
        for folder in (run, reference):
            with rasterio.open(folder / f"{task}_scene_mask.tif") as src:
                masks.append(src.read(1))
        ours, theirs = masks
        flips[task] = int(((ours != theirs) & (ours != 255) & (theirs != 255)).sum())
    return flips


def plan_variants(runtimes: list[str], chips: list[int], overlaps: list[int]) -> list[tuple[str, str, int, int]]:
    """(name, runtime, chip_px, overlap_px) of every combination; names carry the tiling only when it varies."""
    tiled = len(chips) + len(overlaps) > 2
    return [
        (f"{runtime}@{chip}/{overlap}" if tiled else runtime, runtime, chip, overlap)
        for runtime in runtimes
        for chip in chips
        for overlap in overlaps
    ]


def valid_pixels(run: Path) -> int:
    with rasterio.open(run / "buildings_scene_mask.tif") as src:
        return int((src.read(1) != 255).sum())


def pooled(scores: list[dict]) -> dict:
    """Pixel and object F1 of TP/FP/FN summed over images."""
    pixel, objects = PixelCounts(), PixelCounts()
    for one in scores:
        pixel, objects = pixel + one["pixel"], objects + one["objects"]
    return {"pixel_f1": pixel.f1, "pixel_iou": pixel.iou, "object_f1": objects.f1, "buildings": objects.tp + objects.fn}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runtimes", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--model", default="default")
    parser.add_argument("--tiles", nargs="+", default=["0"], help="Joplin tiles 0, 1, 2")
    parser.add_argument("--dates", nargs="+", default=["pre"], choices=["pre", "post"])
    parser.add_argument("--overlaps", nargs="+", type=int, default=[defaults.OVERLAP_PX], help="window overlaps (px)")
    parser.add_argument("--chips", nargs="+", type=int, default=[defaults.CHIP_PX], help="window sizes (px)")
    args = parser.parse_args()
    images = [joplin_image(f"{int(tile):08d}", date) for tile in args.tiles for date in args.dates]
    variants = plan_variants(args.runtimes, args.chips, args.overlaps)
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for name, runtime, chip, overlap in variants:
            scores, seconds, flips = [], 0.0, {"buildings": 0, "roads": 0}
            options = SegmentOptions(chip_px=chip, overlap_px=overlap)
            for index, (image, truth) in enumerate(images):
                out = Path(work) / name / str(index)
                result = segment_scene(
                    SourceSpec(pre=str(image)), bundle_ref(args.model, runtime=runtime), out, options=options
                )
                scores.append(score(out / "buildings_scene_mask.tif", truth))
                seconds += result.seconds_predict
                reference = Path(work) / variants[0][0] / str(index)
                for task, count in flipped_pixels(out, reference).items():
                    flips[task] += count
            results[name] = {
                **pooled(scores),
                "seconds_predict": round(seconds, 2),
                "runtime": result.runtime,
                "flipped_vs_first": flips,
                "pixels": sum(valid_pixels(Path(work) / name / str(i)) for i in range(len(images))),
            }
    base_name = "fp32" if "fp32" in results else variants[0][0]
    base = results[base_name]
    for runtime, figures in results.items():
        delta = (
            f"  (object F1 {100 * (figures['object_f1'] - base['object_f1']):+.2f} "
            f"pts, pixel F1 {100 * (figures['pixel_f1'] - base['pixel_f1']):+.2f} pts vs {base_name})"
        )
        print(
            f"{runtime:16s} pixel F1 {figures['pixel_f1']:.4f}  IoU {figures['pixel_iou']:.4f}  object F1 "
            f"{figures['object_f1']:.4f} ({figures['buildings']} buildings)  predict "
            f"{figures['seconds_predict']:.1f} s{delta}; mask pixels unlike {variants[0][0]}: "
            f"{figures['flipped_vs_first']['buildings']} buildings, {figures['flipped_vs_first']['roads']} roads "
            f"(of {figures['pixels']})"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()

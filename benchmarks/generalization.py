"""How well does a model hold up on imagery it never saw? Every evaluation-only set, through the engine.

    .venv/bin/python benchmarks/generalization.py --model default [--against unet] [--out DIR]
    .venv/bin/python benchmarks/generalization.py --model DIR --against outputs/benchmarks/generalization/unet.json

Each set is an ``eval`` entry of the data registry (configs/data/sources.yaml, i.e. SOURCES.md's
evaluation-only tiles). Every image is written as a GeoTIFF (plain PNG/JPEG get a local UTM grid at
the entry's GSD) and segmented by the production engine (``segment_scene``: 512 px chips, 64 px
overlap, the default runtime, the engine's resampling, band choice and 8-bit stretch), exactly as
``geovision segment`` runs it. Scores (TP/FP/FN pooled over a set's images):

- Joplin tile 0 pre: building object F1 (SpaceNet rule, IoU >= 0.5, >= 5 m2) and pixel IoU;
- the same tile as one grey band (luminance, a pan-chromatic copy): object F1 and pixel IoU;
- Rio img56-57 and each xBD event's pre image: building pixel IoU (xBD: classes 1-4 are footprints);
- DeepGlobe 388, CIL 071-080: road pixel IoU; SpaceNet 3 Vegas img0: road IoU against its
  centrelines buffered to 7 m, and APLS (snap 4 m) of the centrelines traced from the mask.

Writes ``<out>/<name>.json`` and ``<name>.md`` (one table) and, with ``--against`` (a bundle or an
earlier JSON), prints and stores the change.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from rasterio.warp import Resampling, reproject

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geovision.adapt.labels import road_corridors  # noqa: E402
from geovision.data.registry import RegistryEntry, load_registry  # noqa: E402
from geovision.evaluate.objects import object_f1  # noqa: E402
from geovision.evaluate.pixel import PixelCounts  # noqa: E402
from geovision.evaluate.roads import road_scores  # noqa: E402
from geovision.inference.engine import segment_scene  # noqa: E402
from geovision.inference.predictor import bundle_ref  # noqa: E402
from geovision.inference.sources import SourceSpec  # noqa: E402
from geovision.io.labels import rasterize_vectors, read_xbd_json  # noqa: E402
from geovision.io.vectors import read_vectors  # noqa: E402
from geovision.train.config import ImageSource  # noqa: E402
from geovision.vector.polygons import polygonize_raster  # noqa: E402
from geovision.vector.road_raster import road_lines_from_raster  # noqa: E402

REGISTRY = REPO / "configs" / "data" / "sources.yaml"
SHARED = REPO.parent / "shared" / "data"
LOCAL_UTM = "EPSG:32633"  # a metric grid for images without georeference (the place does not matter)
MIN_BUILDING_M2 = 5.0
ROAD_WIDTH_M = 7.0
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass
class Truth:
    """A set image's ground truth: a 0/1 raster on the image grid, or vectors in a CRS."""

    raster: np.ndarray | None = None
    transform: Affine | None = None
    crs: str | None = None
    vectors: gpd.GeoDataFrame | None = None
    centrelines: Path | None = None  # road truth: the line file (APLS)


def write_geotiff(path: Path, array: np.ndarray, *, transform: Affine, crs: str, photometric: str = "RGB") -> Path:
    bands = array.shape[0]
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=array.shape[2],
        height=array.shape[1],
        count=bands,
        dtype=array.dtype,
        crs=crs,
        transform=transform,
        tiled=True,
        compress="deflate",
        photometric=photometric if bands == 3 else "MINISBLACK",
    ) as dst:
        dst.write(array)
    return path


def georeferenced(entry: RegistryEntry, image: Path, work: Path) -> tuple[Path, Affine, str]:
    """The image as a GeoTIFF: as it is when it has a CRS, else on a local UTM grid at the entry's GSD."""
    with rasterio.open(image) as src:
        if src.crs is not None:
            return image, src.transform, src.crs.to_string()
        data = src.read([1, 2, 3])
    gsd = float(entry.fields["gsd_m"])
    transform = Affine(gsd, 0, 500000.0, 0, -gsd, 5000000.0)
    path = write_geotiff(work / f"{image.stem}.tif", data, transform=transform, crs=LOCAL_UTM)
    return path, transform, LOCAL_UTM


def on_grid(truth: Truth, mask_path: Path) -> np.ndarray:
    """The truth as a 0/1 raster on the predicted mask's grid."""
    with rasterio.open(mask_path) as src:
        shape, transform, crs = (src.height, src.width), src.transform, src.crs
    if truth.vectors is not None:
        return rasterize_vectors(truth.vectors.to_crs(crs), transform=transform, width=shape[1], height=shape[0])
    if truth.raster.shape == shape and truth.transform.almost_equals(transform):
        return truth.raster
    out = np.zeros(shape, np.uint8)
    reproject(
        truth.raster,
        out,
        src_transform=truth.transform,
        src_crs=truth.crs,
        dst_transform=transform,
        dst_crs=crs,
        resampling=Resampling.nearest,
    )
    return out


def pixel_counts(mask_path: Path, truth: Truth) -> PixelCounts:
    with rasterio.open(mask_path) as src:
        mask = src.read(1)
    return PixelCounts().update(mask == 1, on_grid(truth, mask_path) > 0, mask != 255)


def segment(image: Path, model: str, out: Path, *, task: str) -> tuple[Path, float]:
    result = segment_scene(SourceSpec(pre=str(image)), bundle_ref(model), out, show_progress=False)
    return out / f"{task}_scene_mask.tif", result.seconds_predict


# -- the sets -----------------------------------------------------------------------------------------
def joplin_tile0(work: Path) -> list[tuple[Path, Truth]]:
    from geovision.impact.xbd import xbd_tile_geotiff

    stem = "joplin-tornado_00000000_pre_disaster"
    xbd = SHARED / "xbd_joplin_tornado"
    image = xbd_tile_geotiff(stem, images=xbd / "images", labels=xbd / "labels", out_dir=work)
    frame = read_xbd_json(SHARED / "xbd_joplin_tornado" / "labels" / f"{stem}.json")
    truth = gpd.GeoDataFrame(geometry=gpd.GeoSeries(frame["geometry_lnglat"], crs="EPSG:4326"))
    return [(image, Truth(vectors=truth))]


def grey_joplin_tile0(work: Path) -> list[tuple[Path, Truth]]:
    ((image, truth),) = joplin_tile0(work)
    with rasterio.open(image) as src:
        rgb = src.read([1, 2, 3]).astype(np.float32)
        transform, crs = src.transform, src.crs.to_string()
    grey = np.clip(np.round(np.tensordot(LUMA, rgb, axes=1)), 0, 255).astype(np.uint8)[None]
    return [(write_geotiff(work / "joplin_tile0_grey.tif", grey, transform=transform, crs=crs), truth)]


def registry_set(name: str) -> Callable[[Path], list[tuple[Path, Truth]]]:
    """The images of a registry ``eval`` entry with their truth (mask rasters or road vectors)."""

    def build(work: Path) -> list[tuple[Path, Truth]]:
        entry = load_registry(REGISTRY)[name]
        out = []
        for source in entry.sources(SHARED):
            image = Path(source["image"])
            path, transform, crs = georeferenced(entry, image, work)
            labels = source.get("labels") or source.get("masks")
            (label,) = labels.values()
            if Path(label).suffix.lower() in (".geojson", ".gpkg", ".shp", ".json"):
                corridors = road_corridors(read_vectors(label).assign(width_m=ROAD_WIDTH_M))
                out.append((path, Truth(vectors=corridors, centrelines=Path(label))))
                continue
            with rasterio.open(label) as src:  # the entry's rule: positive above its threshold
                values = src.read(1)
            threshold = ImageSource.model_validate(source).threshold if entry.kind == "image" else 0.5
            positive = (values > threshold).astype(np.uint8)
            out.append((path, Truth(raster=positive, transform=transform, crs=crs)))
        return out

    return build


SETS = {  # name: (task, images with truth, metrics)
    "Joplin tile 0 (xBD, pre)": ("buildings", joplin_tile0, ("object_f1", "iou")),
    "Joplin tile 0, grey (pan-simulated)": ("buildings", grey_joplin_tile0, ("object_f1", "iou")),
    "SpaceNet 1 Rio img56-57": ("buildings", registry_set("rio-buildings-eval"), ("iou",)),
    "xBD guatemala-volcano (pre)": ("buildings", registry_set("xbd-guatemala-volcano-eval"), ("iou",)),
    "xBD hurricane-florence (pre)": ("buildings", registry_set("xbd-hurricane-florence-eval"), ("iou",)),
    "xBD midwest-flooding (pre)": ("buildings", registry_set("xbd-midwest-flooding-eval"), ("iou",)),
    "DeepGlobe 388": ("roads", registry_set("deepglobe-388-eval"), ("iou",)),
    "CIL 071-080": ("roads", registry_set("cil-roads-eval"), ("iou",)),
    "SpaceNet 3 Vegas img0": ("roads", registry_set("vegas-img0-roads-eval"), ("iou", "apls")),
}
TARGETS = {  # issue 14's acceptance
    ("Joplin tile 0 (xBD, pre)", "object_f1"): 0.70,
    ("SpaceNet 1 Rio img56-57", "iou"): 0.55,
    ("xBD guatemala-volcano (pre)", "iou"): 0.5,
    ("xBD hurricane-florence (pre)", "iou"): 0.5,
    ("xBD midwest-flooding (pre)", "iou"): 0.5,
    ("DeepGlobe 388", "iou"): 0.45,
    ("CIL 071-080", "iou"): 0.55,
    ("SpaceNet 3 Vegas img0", "iou"): 0.5,
}


def score_set(name: str, model: str, work: Path) -> dict:
    task, images, metrics = SETS[name]
    folder = work / name.replace(" ", "_").replace("/", "_")
    folder.mkdir(parents=True, exist_ok=True)
    pixels, objects, seconds, apls = PixelCounts(), PixelCounts(), 0.0, []
    for index, (image, truth) in enumerate(images(folder)):
        mask, took = segment(image, model, folder / f"pred_{index}", task=task)
        seconds += took
        pixels = pixels + pixel_counts(mask, truth)
        if "object_f1" in metrics:
            pred = polygonize_raster(mask, min_area_m2=MIN_BUILDING_M2)
            objects = objects + object_f1(pred, truth.vectors, min_area_m2=MIN_BUILDING_M2).counts
        if "apls" in metrics:
            lines = road_lines_from_raster(mask, min_spur_m=5.0).assign(image_id="img")
            centrelines = read_vectors(truth.centrelines).assign(image_id="img")
            apls.append(road_scores(lines, centrelines, max_snap_dist_m=4.0)["apls"])
    result = {
        "task": task,
        "images": index + 1,
        "iou": pixels.iou,
        "f1": pixels.f1,
        "seconds_predict": round(seconds, 2),
    }
    if "object_f1" in metrics:
        result.update(object_f1=objects.f1, buildings=objects.tp + objects.fn)
    if apls:
        result["apls"] = float(np.mean(apls))
    return result


def run(model: str, work: Path) -> dict:
    results = {}
    for name in SETS:
        started = time.perf_counter()
        results[name] = score_set(name, model, work)
        print(
            f"  {name}: "
            + ", ".join(f"{k} {v:.3f}" for k, v in results[name].items() if k in ("iou", "object_f1", "apls"))
            + f" ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    return results


def markdown(results: dict, *, model: str, against: dict | None = None, against_name: str = "") -> str:
    head = "| set | task | metric | " + model + " |" + (f" {against_name} | change |" if against else "") + " target |"
    rule = "|---|---|---|---|" + ("---|---|" if against else "") + "---|"
    rows = [head, rule]
    for name, figures in results.items():
        for metric in SETS[name][2]:
            value = figures[metric]
            target = TARGETS.get((name, metric))
            cells = [
                name,
                figures["task"],
                {"iou": "pixel IoU", "object_f1": "object F1", "apls": "APLS"}[metric],
                f"{value:.3f}",
            ]
            if against:
                other = against.get(name, {}).get(metric)
                cells += ["" if other is None else f"{other:.3f}", "" if other is None else f"{value - other:+.3f}"]
            cells.append("" if target is None else f">= {target:.2f}" + (" (met)" if value >= target else ""))
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default", help="bundle name (default, fast, unet) or folder")
    parser.add_argument("--against", default=None, help="another bundle, or a JSON written by this benchmark")
    parser.add_argument("--out", default="outputs/benchmarks/generalization")
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS), metavar="SET")
    args = parser.parse_args()
    for name in list(SETS):
        if name not in args.sets:
            del SETS[name]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    label = Path(args.model).name
    with tempfile.TemporaryDirectory() as work:
        print(f"{args.model}:", flush=True)
        results = run(args.model, Path(work) / "model")
        against, against_name = None, ""
        if args.against:
            if args.against.endswith(".json"):
                against = json.loads(Path(args.against).read_text())["results"]
                against_name = Path(args.against).stem
            else:
                print(f"{args.against}:", flush=True)
                against, against_name = run(args.against, Path(work) / "against"), Path(args.against).name
    table = markdown(results, model=label, against=against, against_name=against_name)
    (out / f"{label}.json").write_text(
        json.dumps(
            {"model": args.model, "results": results, "against": against_name or None, "against_results": against},
            indent=1,
        )
    )
    (out / f"{label}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()

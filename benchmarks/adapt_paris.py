#!/usr/bin/env python
"""Issue 20 acceptance: adapt on the west half of SpaceNet 2 Paris img1447 from its OpenStreetMap roads,
score base and adapted model on the east half (never trained on) against the same OSM lines.

    python benchmarks/adapt_paris.py [--model default] [--minutes 10] [--out outputs/benchmarks/adapt_paris]

Metrics on the east half: road pixel IoU against the OSM lines buffered by their width (as adapt
rasterises them), and the relaxed F1 at 3 m of the traced centrelines (length-based). Both models
run through the production engine (``segment_scene``). Writes ``adapt_paris.json``.
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
from rasterio.features import rasterize

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from adapt_report import add_recipe_options, recipe, write_report  # noqa: E402

from geovision.adapt.labels import read_labels, road_corridors  # noqa: E402
from geovision.adapt.run import AdaptOptions, adapt  # noqa: E402
from geovision.evaluate.roads import relaxed_f1  # noqa: E402
from geovision.inference.engine import segment_scene  # noqa: E402
from geovision.inference.predictor import bundle_ref  # noqa: E402
from geovision.inference.sources import SourceSpec  # noqa: E402
from geovision.io.labels import rasterize_vectors  # noqa: E402
from geovision.models.registry import resolve_bundle  # noqa: E402
from geovision.vector.road_raster import road_lines_from_raster  # noqa: E402
from geovision.vector.units import metric_crs  # noqa: E402


def halves(image: Path) -> tuple[shapely.Polygon, shapely.Polygon]:
    """West and east halves of the image's footprint, in its CRS."""
    with rasterio.open(image) as src:
        left, bottom, right, top = src.bounds
    middle = (left + right) / 2
    return shapely.box(left, bottom, middle, top), shapely.box(middle, bottom, right, top)


def road_truth(roads: gpd.GeoDataFrame, shape: tuple[int, int], transform, crs) -> np.ndarray:
    """The OSM lines buffered to their width (in metres, as adapt rasterises them) on a mask's grid.
    ``roads``: :func:`read_labels`' roads (EPSG:4326, ``width_m``)."""
    corridors = road_corridors(roads).to_crs(crs)
    return rasterize_vectors(corridors, transform=transform, width=shape[1], height=shape[0], all_touched=True) == 1


def score(mask: Path, roads: gpd.GeoDataFrame, east_lonlat: shapely.Polygon) -> dict[str, float]:
    """Road IoU against :func:`road_truth` and relaxed F1 at 3 m of the traced centrelines, inside the east half."""
    with rasterio.open(mask) as src:
        predicted, transform, crs = src.read(1), src.transform, src.crs
    east = gpd.GeoSeries([east_lonlat], crs=roads.crs).to_crs(crs).iloc[0]
    inside = rasterize([(east, 1)], out_shape=predicted.shape, transform=transform, dtype="uint8").astype(bool)
    pred = (predicted == 1) & inside
    true = road_truth(roads, predicted.shape, transform, crs) & inside
    union = (pred | true).sum()
    iou = float((pred & true).sum() / union) if union else 1.0
    traced = road_lines_from_raster(mask).to_crs(crs)
    metric = metric_crs(roads)
    clip = gpd.GeoSeries([east], crs=crs).to_crs(metric).iloc[0]
    pred_lines = traced.to_crs(metric).geometry.intersection(clip)
    truth_lines = roads.to_crs(metric).geometry.intersection(clip)
    relaxed = relaxed_f1(np.asarray(pred_lines), np.asarray(truth_lines), buffer_m=3.0)
    return {"road_iou": iou, "relaxed_f1_3m": float(relaxed["f1"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--minutes", type=float, default=10.0)
    add_recipe_options(parser)
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "benchmarks" / "adapt_paris")
    args = parser.parse_args()
    folder = args.data_root / "spacenet2_paris_osm_roads"
    image, labels = folder / "RGB-PanSharpen_img1447.tif", folder / "OSMroads_img1447.geojson"
    args.out.mkdir(parents=True, exist_ok=True)
    west, east = halves(image)
    area = args.out / "west_half.gpkg"
    with rasterio.open(image) as src:
        gpd.GeoDataFrame(geometry=[west], crs=src.crs).to_file(area)
    started = time.perf_counter()
    result = adapt(
        [str(image)],
        [str(labels)],
        args.out / "adapted",
        model=args.model,
        area=str(area),
        options=AdaptOptions(minutes=args.minutes, **recipe(args), licence="ODbL (OpenStreetMap)"),
        overwrite=True,
    )
    adapt_s = time.perf_counter() - started
    roads = read_labels([labels]).roads
    scores = {}
    for name, bundle in (("base", resolve_bundle(args.model)), ("adapted", result.out)):
        out = args.out / f"segment_{name}"
        segment_scene(SourceSpec(pre=str(image)), bundle_ref(str(bundle)), out, overwrite=True)
        scores[name] = score(out / "roads_scene_mask.tif", roads, east)
    write_report(
        args.out / "adapt_paris.json",
        result,
        adapt_s,
        scores,
        image=str(image),
        labels=str(labels),
        train_area="west half",
        test_area="east half",
        recipe=recipe(args),
    )


if __name__ == "__main__":
    main()

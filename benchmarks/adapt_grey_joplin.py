#!/usr/bin/env python
"""Issue 20 acceptance: adapt on a grey (pan-simulated) copy of xBD Joplin tile 1 with its footprints,
score base and adapted model on a grey copy of tile 0 (never trained on: building object F1).

    python benchmarks/adapt_grey_joplin.py [--model default] [--minutes 10] [--out outputs/benchmarks/adapt_grey_joplin]

Grey copies are the luminance of the RGB tile as one band (the engine uses a 1-band image as grey in
every input band). Object F1 is SpaceNet's (IoU >= 0.5, polygons >= 5 m2) through the production
engine, as in ``benchmarks/runtime_accuracy.py``. Writes ``adapt_grey_joplin.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import rasterio

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from adapt_report import add_recipe_options, recipe, write_report  # noqa: E402
from generalization import LUMA, write_geotiff  # noqa: E402
from runtime_accuracy import joplin_image, score  # noqa: E402

from geovision.adapt.run import AdaptOptions, adapt  # noqa: E402
from geovision.inference.engine import segment_scene  # noqa: E402
from geovision.inference.predictor import bundle_ref  # noqa: E402
from geovision.inference.sources import SourceSpec  # noqa: E402
from geovision.models.registry import resolve_bundle  # noqa: E402

XBD_LICENCE = "CC BY-NC-SA 4.0 (xBD)"


def grey_copy(image: Path, out: Path) -> Path:
    """``image``'s luminance as a one-band uint8 GeoTIFF at ``out``."""
    with rasterio.open(image) as src:
        rgb = src.read([1, 2, 3]).astype(np.float32)
        transform, crs = src.transform, src.crs.to_string()
    grey = np.clip(np.round(np.tensordot(LUMA, rgb, axes=1)), 0, 255).astype(np.uint8)[None]
    return write_geotiff(out, grey, transform=transform, crs=crs, photometric="MINISBLACK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--minutes", type=float, default=10.0)
    add_recipe_options(parser)
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "benchmarks" / "adapt_grey_joplin")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    train_rgb, train_truth = joplin_image("00000001", "pre")
    test_rgb, test_truth = joplin_image("00000000", "pre")
    train, test = grey_copy(train_rgb, args.out / "tile1_grey.tif"), grey_copy(test_rgb, args.out / "tile0_grey.tif")
    labels = args.out / "tile1_footprints.geojson"
    train_truth.to_file(labels, driver="GeoJSON")
    started = time.perf_counter()
    result = adapt(
        [str(train)],
        [str(labels)],
        args.out / "adapted",
        model=args.model,
        options=AdaptOptions(minutes=args.minutes, **recipe(args), licence=XBD_LICENCE),
        overwrite=True,
    )
    adapt_s = time.perf_counter() - started
    scores = {}
    for name, bundle in (("base", resolve_bundle(args.model)), ("adapted", result.out)):
        out = args.out / f"segment_{name}"
        segment_scene(SourceSpec(pre=str(test)), bundle_ref(str(bundle)), out, overwrite=True)
        figures = score(out / "buildings_scene_mask.tif", test_truth)
        scores[name] = {key: float(figures[key]) for key in ("object_f1", "pixel_f1", "pixel_iou")}
    write_report(
        args.out / "adapt_grey_joplin.json",
        result,
        adapt_s,
        scores,
        train="xBD Joplin tile 1 pre, grey, all its footprints",
        test="xBD Joplin tile 0 pre, grey",
        recipe=recipe(args),
    )


if __name__ == "__main__":
    main()

"""A small seeded event for the impact pass: pre/post building and road masks, a valid mask,
census units, a population raster, truth polygons and road lines, all on one 700 x 520 grid.

``CASES`` are ``impact_stage`` calls over it; ``outputs`` reads back what one wrote
(summary, grid bands, units table, damaged roads) as plain JSON-able values, so the
outputs of two implementations can be compared (``impact_pass_golden.json`` holds the ones of the
implementation before the single pass).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from tests.rasters import UTM, write_geotiff

from .conftest import TRANSFORM, blocks_mask

SHAPE = (520, 700)
GOLDEN = Path(__file__).with_name("impact_pass_golden.json")


def _box(c0: float, r0: float, c1: float, r1: float) -> shapely.Polygon:
    """A box in map units from pixel corners."""
    (x0, y0), (x1, y1) = TRANSFORM @ (c0, r0), TRANSFORM @ (c1, r1)
    return shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _roads(shape: tuple[int, int]) -> np.ndarray:
    roads = np.zeros(shape, np.uint8)
    roads[196:203, 30:680] = 1
    roads[40:500, 497:503] = 1
    roads[60:66, 100:300] = 1
    for i in range(380):  # a diagonal road
        roads[120 + i, 80 + i : 86 + i] = 1
    return roads


def write_event(folder: Path) -> dict[str, Path]:
    """Write the event's files into ``folder``; returns their paths by name."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(15)
    height, width = SHAPE
    rows, cols = np.mgrid[:height, :width]
    damage = (rows - 250) ** 2 + (cols - 330) ** 2 < 140**2
    pre = blocks_mask(SHAPE, rng, n=220, size=14)
    post = np.where(damage, 0, np.roll(pre, 1, axis=1)).astype(np.uint8)  # misregistered by one pixel
    post[damage & (cols > 400) & (rows < 200)] = pre[damage & (cols > 400) & (rows < 200)]  # partly standing
    pre[:, :20] = 255  # declared nodata
    post[500:, :] = 255
    valid = np.ones(SHAPE, np.uint8)
    valid[100:140, 400:460] = 0
    prob = np.where(post == 255, np.float32(np.nan), post.astype(np.float32) * 0.9)
    prob[damage & (cols < 300)] = 0.3  # uncertain losses
    roads_pre = _roads(SHAPE)
    roads_post = np.where(damage & (cols < 360), 0, roads_pre).astype(np.uint8)
    paths = {
        "pre": write_geotiff(folder / "pre.tif", pre, transform=TRANSFORM, nodata=255),
        "post": write_geotiff(folder / "post.tif", post, transform=TRANSFORM, nodata=255),
        "post_prob": write_geotiff(folder / "post_prob.tif", prob, transform=TRANSFORM),
        "valid": write_geotiff(folder / "valid.tif", valid, transform=TRANSFORM),
        "roads_pre": write_geotiff(folder / "roads_pre.tif", roads_pre, transform=TRANSFORM),
        "roads_post": write_geotiff(folder / "roads_post.tif", roads_post, transform=TRANSFORM),
        "truth_mask": write_geotiff(folder / "truth.tif", damage.astype(np.uint8), transform=TRANSFORM),
    }
    pop = rng.integers(0, 400, size=(7, 9)).astype(np.float32)  # 40 m cells over the scene
    pop[0, 0] = -1
    paths["pop_raster"] = write_geotiff(folder / "pop.tif", pop, transform=TRANSFORM * TRANSFORM.scale(80), nodata=-1)
    census = gpd.GeoDataFrame(
        {"pop": [900.0, 450.0, 0.0, 120.0]},
        crs=UTM,
        geometry=[_box(0, 0, 330, 520), _box(330, 0, 760, 260), _box(330, 260, 700, 520), _box(600, 300, 640, 340)],
    )
    paths["census"] = folder / "census.gpkg"
    census.to_file(paths["census"])
    paths["truth"] = folder / "truth.gpkg"
    gpd.GeoDataFrame(geometry=[_box(190, 110, 470, 390)], crs=UTM).to_file(paths["truth"])
    lines = [[(30, 199.5), (680, 199.5)], [(500, 40), (500, 500)], [(100, 63), (300, 63), (300, 150)]]
    paths["lines"] = folder / "lines.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.LineString([TRANSFORM @ p for p in line]) for line in lines], crs=UTM).to_file(
        paths["lines"]
    )
    paths["validation"] = folder / "validation.csv"
    paths["validation"].write_text("pred,true\n10,12\n20,18\n5,6\n40,35\n0,1\n")
    return paths


#: impact_stage keyword arguments per case; strings name the event's files
CASES: dict[str, dict[str, Any]] = {
    "buildings_census_model": {
        "pre_mask": "pre",
        "post_mask": "post",
        "valid": "valid",
        "cell_px": 64,
        "tolerance_px": 2,
        "census": "census",
        "interval": "model",
        "truth": "truth",
        "theta": 0.1,
    },
    "buildings_prob_validation": {
        "pre_mask": "pre",
        "post_mask": "post_prob",
        "cell_px": 64,
        "tolerance_px": 1,
        "census": "census",
        "interval": "validation",
        "validation_sample": "validation",
        "theta": 0.2,
    },
    "buildings_pop_raster": {
        "pre_mask": "pre",
        "post_mask": "post",
        "valid": "valid",
        "cell_px": 50,
        "pop_raster": "pop_raster",
        "weighting": "area",
        "truth": "truth_mask",
        "mean_over": "with_features",
    },
    "roads_traced": {
        "pre_mask": "roads_pre",
        "post_mask": "roads_post",
        "kind": "roads",
        "valid": "valid",
        "cell_px": 64,
        "tolerance_px": 2,
    },
    "roads_given": {
        "pre_mask": "roads_pre",
        "post_mask": "roads_post",
        "kind": "roads",
        "cell_px": 64,
        "tolerance_px": 1,
        "road_lines": "lines",
    },
}


def arguments(case: str, paths: dict[str, Path]) -> dict[str, Any]:
    """``impact_stage`` keywords of ``case`` with the event's file names resolved."""
    keys = ("pre_mask", "post_mask", "valid", "census", "truth", "pop_raster", "validation_sample", "road_lines")
    return {k: (paths[v] if k in keys else v) for k, v in CASES[case].items()}


def _plain(value: Any) -> Any:
    """JSON-able: NaN and inf as None, numpy scalars and arrays as Python numbers and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer, np.floating)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def outputs(result: Any) -> dict[str, Any]:
    """What an ``impact_stage`` call wrote (its ``ImpactOutputs``), as plain values."""
    import pandas as pd
    import rasterio

    paths = result.paths
    out: dict[str, Any] = {"summary": json.loads(Path(paths["summary"]).read_text())}
    with rasterio.open(paths["cog"]) as src:
        out["bands"] = {name: src.read(i + 1).astype(np.float64) for i, name in enumerate(src.descriptions)}
    if "affected_by_unit" in paths:
        out["units"] = pd.read_csv(paths["affected_by_unit"]).to_dict(orient="list")
    if "damaged_roads" in paths:
        roads = gpd.read_file(paths["damaged_roads"])
        order = np.lexsort((roads["lost_length_m"].to_numpy(), roads["length_m"].to_numpy()))
        out["roads"] = {c: roads[c].to_numpy()[order] for c in ("length_m", "lost_length_m", "valid_fraction")}
    return _plain(out)

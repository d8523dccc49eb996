"""Residents per building and a census of admin units, like a real (noisy, aggregated) census."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from geovision.synth.layout import FARM, HOUSE, Buildings
from geovision.types import Bounds

UNIT_AREA_M2 = 150_000.0  # about 0.15 km2 per admin unit (a US census block group in a town)


@dataclass
class Census:
    """Admin polygons with integer population counts."""

    polygon: np.ndarray  # shapely Polygons covering the scene
    name: list[str]
    pop: np.ndarray  # int64


def residents(buildings: Buildings, rng: np.random.Generator) -> np.ndarray:
    """True number of residents of each building: houses and farm houses only, about 2.5 per house."""
    area = shapely.area(buildings.footprint)
    lam = np.where(np.isin(buildings.kind, (HOUSE, FARM)), 2.5 * np.sqrt(np.maximum(area, 1.0) / 120.0), 0.0)
    return rng.poisson(lam).astype(np.int64)


def make_census(bounds: Bounds, buildings: Buildings, population: np.ndarray, rng: np.random.Generator) -> Census:
    """Voronoi admin units covering ``bounds``; counts = residents inside x (1 +- ~8 %) census error."""
    box = shapely.box(*bounds)
    count = max(2, int(round(bounds.area / UNIT_AREA_M2)))
    seeds = shapely.multipoints(
        np.column_stack([rng.uniform(bounds.xmin, bounds.xmax, count), rng.uniform(bounds.ymin, bounds.ymax, count)])
    )
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=box))
    cells = shapely.intersection(cells, box)
    cells = cells[~shapely.is_empty(cells)]
    centre = shapely.centroid(cells)
    cells = cells[np.lexsort((shapely.get_x(centre), -shapely.get_y(centre)))]
    counts = np.zeros(len(cells), dtype=np.float64)
    if len(buildings):
        points = shapely.point_on_surface(buildings.footprint)
        building_idx, cell_idx = shapely.STRtree(cells).query(points, predicate="intersects")
        # a point on a shared edge counts once, in the first cell
        first = np.unique(building_idx, return_index=True)[1]
        np.add.at(counts, cell_idx[first], population[building_idx[first]])
    pop = np.rint(counts * rng.lognormal(0.0, 0.08, len(cells))).astype(np.int64)
    names = [f"Block group {i + 1:04d}" for i in range(len(cells))]
    return Census(cells, names, pop)

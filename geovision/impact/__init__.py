"""Impact analysis (no torch): Disaster Impact Index grid, population, affected people, damaged roads.

Core functions take numpy/dask/xarray arrays and return xarray Datasets;
``workflow`` wires them to files for ``geovision impact``/``population``/``run``.
"""

from geovision.evaluate.grid import best_theta, cell_outcomes, grid_f1, pr_curve, save_pr_curve
from geovision.impact.affected import AffectedResult, affected_population, validation_sample
from geovision.impact.dii import compute_dii_grid, flag_impacted, lost_pixels
from geovision.impact.evaluate_impact import truth_from_mask, truth_from_polygons
from geovision.impact.population import (
    Allocation,
    PolygonZones,
    RasterZones,
    allocate,
    density_array,
    population_raster,
    write_density,
)
from geovision.impact.roads import damaged_roads
from geovision.impact.stats import Interval, model_ci, validation_ci, validation_ci_groups

__all__ = [
    "AffectedResult",
    "Allocation",
    "Interval",
    "PolygonZones",
    "RasterZones",
    "affected_population",
    "allocate",
    "best_theta",
    "cell_outcomes",
    "compute_dii_grid",
    "damaged_roads",
    "density_array",
    "flag_impacted",
    "grid_f1",
    "lost_pixels",
    "model_ci",
    "population_raster",
    "pr_curve",
    "save_pr_curve",
    "truth_from_mask",
    "truth_from_polygons",
    "validation_ci",
    "validation_ci_groups",
    "validation_sample",
    "write_density",
]

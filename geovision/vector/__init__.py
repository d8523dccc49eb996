"""Vectorisation: building polygons from masks, road centreline graphs from road masks (no torch)."""

from geovision.vector.polygons import clean_polygons, polygonize_buildings, polygonize_raster, regularize
from geovision.vector.skeleton import graph_to_lines, road_lines, skeleton_graph
from geovision.vector.units import area_m2, length_m, metric_crs, pixel_size_m

__all__ = [
    "area_m2",
    "clean_polygons",
    "graph_to_lines",
    "length_m",
    "metric_crs",
    "pixel_size_m",
    "polygonize_buildings",
    "polygonize_raster",
    "regularize",
    "road_lines",
    "skeleton_graph",
]
